#!/usr/bin/env bash
# Regenerate every report in docs/results/ that the README quotes, with the README's commands.
# Run from the repository root with synens-tui installed (about 3 minutes on 2 cores).
# The study (docs/results/study-shipped.*) is not here: it trains 24 models (see the README's
# "Studies"), then `synens-tui study study-shipped --report -o ... --force`.
set -euo pipefail
out=docs/results
m=assets/default.npz
report() {  # NAME ARGS...
    local name=$1; shift
    synens-tui report "$m" "$@" -o "$out/report-macaw-$name.txt" --force
    synens-tui report "$m" "$@" --format json -o "$out/report-macaw-$name.json" --force
}
report head --region 28,12,56,40
report wing --region 82,52,112,78
report perch --region 58,82,128,99
report segment1 --segment 1
for pair in default:macaw kingfisher:kingfisher honey_bee:honey_bee; do
    model=assets/${pair%%:*}.npz
    synens-tui basis "$model" -o "$out/basis-${pair##*:}.txt" --force
    synens-tui atlas "$model" -o "$out/atlas-${pair%%:*}.txt" --png "$out/atlas-${pair%%:*}.png" \
        --force
done

#!/usr/bin/env bash
# The README's first set-up command, verbatim, on the system's own Python (Debian's, which refuses a
# bare pip install under PEP 668), in a fresh copy of the repository, inside tmux: it must install and
# open the explorer on the shipped model (the painting and its RMSE appear), and `q` must end it.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq python3-venv python3-pip tmux >/dev/null

work=$(mktemp -d)
sock="synens-setup-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
git clone -q . "$work/src"
export PATH=/usr/bin:/bin   # python3 is the distribution's own

# PEP 668 is in force here: a bare install must be refused.
if python3 -m pip install --dry-run --no-deps "$work/src" >"$work/bare.log" 2>&1; then
    echo "setup_check: this python3 accepts a bare pip install; PEP 668 is not being exercised"
else
    grep -q "externally-managed-environment" "$work/bare.log" && echo "setup_check: bare pip install refused (PEP 668), as expected"
fi

cmd=$(sed -n '/^## Set-up/,/^```$/p' "$work/src/README.md" | grep '^python3 -m venv' | head -n 1 | sed 's/  *#.*$//')
echo "setup_check: running: $cmd"
tmux -L "$sock" -f /dev/null new-session -d -s s -x 100 -y 30 -c "$work/src" \
    "$cmd; echo; echo __done__; sleep 600"
# The command installs first (pip's output scrolls by), then the explorer takes the screen.
for _ in $(seq 1 600); do
    screen=$(tmux -L "$sock" capture-pane -p -t s)
    if grep -q "RMSE" <<<"$screen" && grep -q "default" <<<"$screen"; then
        break
    fi
    if grep -q "__done__" <<<"$screen"; then
        echo "setup_check: the command ended before the explorer showed the painting:"; echo "$screen"; exit 1
    fi
    sleep 1
done
grep -q "RMSE" <<<"$screen" || { echo "setup_check: no painting after 600 s"; echo "$screen"; exit 1; }
echo "setup_check: the explorer shows the shipped model"
tmux -L "$sock" send-keys -t s q
for _ in $(seq 1 30); do
    tmux -L "$sock" capture-pane -p -t s | grep -q "__done__" && { echo "setup_check: q ended it"; exit 0; }
    sleep 1
done
echo "setup_check: q did not end the explorer"; tmux -L "$sock" capture-pane -p -t s; exit 1

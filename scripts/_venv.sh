# Sourced by the other scripts: make sure .venv exists and holds exactly the locked versions.
#   source scripts/_venv.sh base|scale|dev
# Installs from requirements/<set>.txt (hashes required, so nothing unlocked slips in), then
# openreel itself without resolving anything; re-installs only when that lock file changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
LOCK_SET="${1:-base}"
PYTHON="${PYTHON:-python3}"
LOCK="$ROOT/requirements/$LOCK_SET.txt"
if [ ! -f "$LOCK" ]; then
  echo "no lock file $LOCK (sets: base, scale, dev)" >&2
  exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-$LOCK_SET"
if [ ! -f "$stamp" ] || [ "$LOCK" -nt "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ] \
  || [ "$ROOT/requirements/build.txt" -nt "$stamp" ]; then
  # pip and the build backend first, at their locked versions, so the editable install
  # below needs no build isolation (which would fetch whatever hatchling is newest).
  "$VENV/bin/python" -m pip install --quiet --require-hashes -r "$ROOT/requirements/build.txt"
  "$VENV/bin/python" -m pip install --quiet --require-hashes --no-deps -r "$LOCK"
  "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$ROOT"
  "$VENV/bin/python" -m pip check
  touch "$stamp"
fi

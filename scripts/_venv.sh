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
  # --no-compile: pip byte-compiles file by file on one core (about 90 of a dev install's
  # 150 s); compileall below writes the same .pyc files on every core.
  "$VENV/bin/python" -m pip install --quiet --require-hashes --no-deps --no-compile -r "$LOCK"
  "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$ROOT"
  "$VENV/bin/python" -m pip check
  rm -f "$VENV/.bytecode"
  touch "$stamp"
fi
# Bytecode of the installed packages matters: with PYTHONDONTWRITEBYTECODE set (as on CI)
# every process would compile each module it imports again. It is written in the background
# (the checks do not import the packages); `venv_bytecode_wait` waits for it. The marker is
# written when it is done, so an interrupted run finishes it next time. -qq: a few packages
# ship templates that are not Python, which pip skips the same way.
VENV_BYTECODE_PID=""
if [ ! -f "$VENV/.bytecode" ] && [ -z "${OPENREEL_VENV_BYTECODE:-}" ]; then
  export OPENREEL_VENV_BYTECODE=running  # scripts run from this one do not start another
  purelib="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
  { "$VENV/bin/python" -m compileall -qq -j 0 "$purelib" >/dev/null 2>&1 || true
    touch "$VENV/.bytecode"; } &
  VENV_BYTECODE_PID=$!
fi
venv_bytecode_wait() {
  if [ -n "$VENV_BYTECODE_PID" ]; then wait "$VENV_BYTECODE_PID" || true; fi
}
# Run as a command (`bash scripts/_venv.sh dev`, as `make bench` does): return with the venv
# complete, so nothing compiles beside what runs next.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then venv_bytecode_wait; fi

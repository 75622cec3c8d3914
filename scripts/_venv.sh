# Sourced by the other scripts: make sure .venv exists and holds exactly the locked versions.
#   source scripts/_venv.sh base|scale|dev
# Installs from requirements/<set>.txt (hashes required, so nothing unlocked slips in), then
# openreel itself without resolving anything; re-installs only when that lock file changed.
# The installer is uv (requirements/tools.txt), fed the package sources of pip's own
# configuration; where uv fails for any reason, pip installs the same files.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/_uv.sh"
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
# pip and the build backend first, at their locked versions, so the editable install of
# openreel needs no build isolation (which would fetch whatever hatchling is newest). Neither
# installer byte-compiles: compileall below writes the bytecode on every core.
venv_install_with_pip() {
  "$VENV/bin/python" -m pip install --quiet --require-hashes -r "$ROOT/requirements/build.txt"
  "$VENV/bin/python" -m pip install --quiet --require-hashes --no-deps --no-compile -r "$LOCK"
  "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$ROOT"
}
# uv downloads and unpacks in parallel (a dev install: about 7 s against pip's 23 s). It does
# not read pip's configuration, so the index, extra indexes, find-links (the CPU build of
# torch) and certificate bundle pip is configured with are passed on; every index counts the
# same, as for pip (the hashes decide what may be installed).
venv_install_with_uv() {
  uv_ensure || return 1
  local sources
  sources="$("$VENV/bin/python" - <<'PY'
import ast, subprocess, sys
listed = subprocess.run(
    [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True
).stdout
options = {"index-url": "--index-url", "extra-index-url": "--extra-index-url",
           "find-links": "--find-links"}
seen = set()
for line in listed.splitlines():
    key, _, raw = line.partition("=")
    name = key.rpartition(".")[2]
    value = ast.literal_eval(raw) if raw else ""
    if name == "cert":
        print(f"cert {value}")
    elif name in options:
        for item in value.split():
            if (name, item) not in seen:
                seen.add((name, item))
                print(f"{options[name]} {item}")
PY
)" || return 1
  local args=() cert="" flag value
  while read -r flag value; do
    [ -n "$flag" ] || continue
    if [ "$flag" = cert ]; then cert="$value"; else args+=("$flag" "$value"); fi
  done <<<"$sources"
  local uv_env=(UV_INDEX_STRATEGY=unsafe-best-match)
  [ -z "$cert" ] || uv_env+=(SSL_CERT_FILE="$cert")
  local uv_install=(env "${uv_env[@]}" "$UV" pip install --quiet --python "$VENV/bin/python"
    "${args[@]}")
  "${uv_install[@]}" --require-hashes -r "$ROOT/requirements/build.txt" \
    && "${uv_install[@]}" --require-hashes --no-deps -r "$LOCK" \
    && "${uv_install[@]}" --no-deps --no-build-isolation -e "$ROOT"
}
stamp="$VENV/.installed-$LOCK_SET"
if [ ! -f "$stamp" ] || [ "$LOCK" -nt "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ] \
  || [ "$ROOT/requirements/build.txt" -nt "$stamp" ]; then
  if ! venv_install_with_uv; then
    echo "note: uv could not install the $LOCK_SET set (see above); pip installs it" >&2
    venv_install_with_pip
  fi
  "$VENV/bin/python" -m pip check
  rm -f "$VENV/.bytecode"
  touch "$stamp"
fi
# Bytecode of the installed packages matters: with PYTHONDONTWRITEBYTECODE set (as on CI)
# every process would compile each module it imports again. It is written in the background
# (the checks do not import the packages); `venv_bytecode_wait` waits for it. The marker is
# written when it is done, so an interrupted run finishes it next time. -qq: a few packages
# ship templates that are not Python, which pip skips the same way. A caller that sets
# OPENREEL_VENV_BYTECODE (scripts/test: its processes write what they import) skips it.
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

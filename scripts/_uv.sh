# Sourced by _venv.sh and lock: uv at the version of requirements/tools.txt, in .venv-tools
# (installed with pip, hashes required). Defines UV; needs ROOT.
UV_TOOLS="$ROOT/.venv-tools"
UV="$UV_TOOLS/bin/uv"
uv_ensure() {
  if [ ! -x "$UV" ] || [ "$ROOT/requirements/tools.txt" -nt "$UV" ]; then
    "${PYTHON:-python3}" -m venv "$UV_TOOLS"
    "$UV_TOOLS/bin/python" -m pip install --quiet --require-hashes \
      -r "$ROOT/requirements/tools.txt"
    touch "$UV"
  fi
}

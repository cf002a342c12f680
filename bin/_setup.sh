# Sourced by bin/serve and bin/test: a Python 3.12+, uv, and the locked environment.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export UV_PYTHON_DOWNLOADS=never

find_python() {
  # pyenv reads .python-version; otherwise take the first 3.13/3.12 on PATH.
  for candidate in python python3.13 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "Testigo needs Python 3.12 or 3.13 (pyenv install 3.13, or your package manager)." >&2
  return 1
}

PYTHON=$(find_python)
if ! "$PYTHON" -m uv --version >/dev/null 2>&1; then
  "$PYTHON" -m pip install --quiet --disable-pip-version-check uv
fi
"$PYTHON" -m uv sync --frozen --quiet --python "$PYTHON"
VENV_PY=.venv/bin/python

#!/usr/bin/env bash
# Install kd and its stack into .venv/ (or $VENV), skipping what is already there.
#
#   torch   : an importable torch is kept (GPU users install their CUDA build
#             first); otherwise torch==2.13.0 (a CPU build on these machines).
#   mmcv    : 2.1.0 WITH compiled ops, built from source against that torch
#             (~13 min on 2 cores the first time; pip caches the wheel).
#   mmengine 0.10.7, mmdet 3.3.0, then `pip install -e .[tests]`.
#
# Every step prints one line; a failing step stops the script and prints the
# command that failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

step() { printf '\n[kd install] %s\n' "$*"; }
run() {
  if ! "$@"; then
    printf '\n[kd install] FAILED: %s\n' "$*" >&2
    printf '[kd install] fix the problem above and rerun `make install`.\n' >&2
    exit 1
  fi
}
quiet_pip() {  # pip without the noise of missing local index mirrors; keeps pip's exit code
  "${PIP[@]}" "$@" > >(grep --line-buffered -v "is ignored: it is neither a file nor a directory") 2>&1
}
have() { "$PY" -c "$1" >/dev/null 2>&1; }

step "1/7 virtual environment: $VENV"
if [ ! -x "$PY" ]; then
  run "$PYTHON" -m venv "$VENV"
else
  echo "    exists"
fi

step "2/7 build tools: setuptools>=77.0.3,<81 (MMEngine needs pkg_resources), wheel, ninja"
if have "import setuptools, wheel, ninja, pkg_resources; from packaging.version import Version as V; assert V('77.0.3') <= V(setuptools.__version__) < V('81')"; then
  echo "    present"
else
  run quiet_pip install -q 'setuptools>=77.0.3,<81' wheel ninja packaging
fi

step "3/7 torch"
if have "import torch"; then
  echo "    keeping installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
else
  echo "    installing $TORCH_SPEC (CPU build from local disk on these machines)"
  run quiet_pip install -q "$TORCH_SPEC"
fi
run quiet_pip install -q numpy

step "4/7 mmengine 0.10.7"
if have "import mmengine; assert mmengine.__version__ == '0.10.7'"; then
  echo "    present"
else
  run quiet_pip install -q 'mmengine==0.10.7'
fi

step "5/7 mmcv 2.1.0 with compiled ops (first build ~13 min on 2 cores; cached afterwards)"
if have "import mmcv; assert mmcv.__version__ == '2.1.0'; from mmcv.ops import nms, RoIAlign"; then
  echo "    present (with ops)"
else
  echo "    building from source against torch $("$PY" -c 'import torch; print(torch.__version__)') ..."
  export MMCV_WITH_OPS=1
  run quiet_pip install --no-build-isolation 'mmcv==2.1.0'
  run "$PY" -c "from mmcv.ops import nms; print('    mmcv ops OK')"
fi

step "6/7 mmdet 3.3.0 and runtime requirements"
if have "import mmdet; assert mmdet.__version__ == '3.3.0'; import sklearn, pycocotools"; then
  echo "    present"
else
  run quiet_pip install -q -r "$ROOT/requirements/runtime.txt"
  run quiet_pip install -q 'mmdet==3.3.0'
fi

step "7/7 kd (editable, distribution kd-toolbox) with test extras"
# This project's distribution used to be called `kd`, and an installer of that time put a
# start-up file `kd-mmengine-scope.pth` into site-packages. Remove both when they are this
# project's (a distribution `kd` would make MMEngine look for `kd::` configs in
# site-packages/kd, which an editable install does not have; see setup.py).
if "$PY" - <<'PY'
import importlib.metadata as m, sys
try:
    summary = m.distribution('kd').metadata['Summary'] or ''
except m.PackageNotFoundError:
    sys.exit(1)
sys.exit(0 if summary.startswith('Knowledge distillation for object detection') else 1)
PY
then
  echo "    removing this project's old distribution \`kd\` (now kd-toolbox)"
  run quiet_pip uninstall -q -y kd
  rm -f "$VENV/.kd-installed"
fi
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
if [ -f "$SITE/kd-mmengine-scope.pth" ]; then
  echo "    removing the old start-up file $SITE/kd-mmengine-scope.pth"
  run rm -f "$SITE/kd-mmengine-scope.pth"
fi
if have "import kd, pytest, ruff, os, importlib.metadata as m; m.distribution('kd-toolbox'); assert os.path.dirname(kd.__file__) == '$ROOT/kd'" \
   && [ "$ROOT/setup.py" -ot "$VENV/.kd-installed" ] \
   && [ "$ROOT/requirements/runtime.txt" -ot "$VENV/.kd-installed" ]; then
  echo "    present"
else
  run quiet_pip install -q --no-build-isolation -e "$ROOT[tests]"
  touch "$VENV/.kd-installed"
fi
run "$PY" - <<'PY'
import torch, mmcv, mmengine, mmdet, kd
from mmcv.ops import nms  # noqa: F401
from mmengine.hub import get_config
get_config('kd::_base_/default_runtime_cls.py')  # `kd::` config paths resolve after `import kd`
print(f'\n[kd install] done: torch {torch.__version__}, mmcv {mmcv.__version__} (ops), '
      f'mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, kd {kd.__version__}')
PY

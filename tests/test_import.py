import subprocess
import sys


def _run(code):
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_import_sknoisy_leaves_torch_and_skorch_unimported():
    out = _run(
        "import sys, sknoisy, sknoisy.adapters, sknoisy.datasets, sknoisy.noise, "
        "sknoisy.metrics, sknoisy.linear_model, sknoisy.utils\n"
        "sknoisy.utils.all_estimators()\n"
        "print(sorted(m for m in ('torch', 'skorch') if m in sys.modules))"
    )
    assert out == "[]"


def test_linear_paths_work_when_torch_cannot_be_imported():
    # A meta-path finder that refuses torch simulates a machine without it.
    out = _run(
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'skorch'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import numpy as np\n"
        "from sknoisy.adapters import make_adapter\n"
        "from sknoisy.linear_model import SoftmaxRegression\n"
        "from sknoisy.noise import make_label_noise\n"
        "X = np.random.default_rng(0).normal(size=(30, 4)); y = np.arange(30) % 3\n"
        "y_noisy = make_label_noise(y, 0.2, random_state=0)\n"
        "a = make_adapter(SoftmaxRegression(max_epochs=2), 3).fit(X, y_noisy)\n"
        "print(a.per_sample_gradients(X, y_noisy).shape)"
    )
    assert out == "(30, 3, 4)"

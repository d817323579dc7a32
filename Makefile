# The course's entry points. Every target is idempotent: run any of them on a
# fresh clone and it sets itself up first.
#
#   make demo        set up, regenerate the release, autograde the demo class
#   make test        the linter (ruff) and the whole test suite (what CI runs)
#   make test-fast   unit tests only (seconds)
#   make lab         open JupyterLab on your copy of the student notebooks (Validate only)
#   make lab-instructor  JupyterLab on the repository with nbgrader's formgrader
#   make release     regenerate assignments/ from solutions/
#   make grade       autograde the submissions in .grading/submissions/<student>/<assignment>/
#   make bundle      the zip a class receives (no solutions, specs or hidden references)
#   make data        regenerate datasets/ bit-for-bit; make references: the reference outputs
#   make weights     rebuild the assignments' pretrained networks (course/weights/; training takes long)
#   make setup GPU=1 use TensorFlow's CUDA build on a Linux machine with an NVIDIA GPU

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
GPU    ?= 0

# `python3.11` may be called plain `python3` on machines where 3.11 is the default.
ifeq ($(shell command -v $(PYTHON) 2>/dev/null),)
PYTHON := python3
endif

.PHONY: setup demo test test-fast lab lab-instructor release grade bundle data references weights check-lock lock clean

setup: $(STAMP)

# Rebuilt when the lock or the package definition changes (a stale venv is refreshed).
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "the course needs Python 3.11, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
ifeq ($(GPU),1)
	$(BIN)/python -m pip uninstall --quiet --yes tensorflow-cpu
	$(BIN)/python -m pip install --quiet "tensorflow[and-cuda]==2.21.0"
endif
	touch $(STAMP)

demo: setup
	$(BIN)/course demo

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

lab: setup
	$(BIN)/course lab

lab-instructor: setup
	$(BIN)/course lab --instructor

release: setup
	$(BIN)/course release

grade: setup
	$(BIN)/course grade

bundle: setup
	$(BIN)/course bundle

data: setup
	$(BIN)/course data

references: setup
	$(BIN)/course references

weights: setup
	$(BIN)/course weights

# Check that the lock resolves for the other platforms students use (needs the network).
check-lock: setup
	$(BIN)/python benchmarks/check_lock.py

# Re-resolve the lock from the direct dependencies (needs the network), then run `make test`.
DIRECT = "tensorflow-cpu==2.21.*" "keras>=3,<4" "nbgrader==0.9.6" "jupyterlab>=4,<5" "notebook>=7,<8" \
         distributed tqdm numpy h5py matplotlib pillow pytest pytest-xdist "soupsieve<3" ruff
lock:
	rm -rf build/lock-venv && $(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/python -m pip install --quiet --upgrade "pip>=24"
	build/lock-venv/bin/python -m pip install --quiet $(DIRECT)
	{ grep '^#' requirements.txt; build/lock-venv/bin/python -m pip freeze --exclude-editable | \
	  sed -e 's/^tensorflow[-_]cpu==\(.*\)$$/tensorflow-cpu==\1; sys_platform != "darwin" and platform_machine != "aarch64"\ntensorflow==\1; sys_platform == "darwin" or platform_machine == "aarch64"/'; } \
	  > requirements.txt.new && mv requirements.txt.new requirements.txt
	rm -rf build/lock-venv

clean:
	rm -rf .grading build .pytest_cache

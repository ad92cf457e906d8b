# The README's commands. `make setup` builds .venv: torch is pinned (requirements/constraints.txt) so no package
# pulls a newer, CUDA-sized torch; torchaudio's C++ extension is dropped only where it cannot load.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.codecfake-setup
PIP := $(BIN)/pip install --quiet --disable-pip-version-check -c requirements/constraints.txt

.PHONY: setup demo test test-codecs test-cluster report clean-demo

setup: $(STAMP)

$(STAMP): requirements/constraints.txt requirements/test.txt requirements/test-no-deps.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip wheel
	$(PIP) torch==2.13.0 -r requirements/test.txt
	$(PIP) --no-deps -r requirements/test-no-deps.txt
	$(PIP) --no-deps --editable .
	$(BIN)/python envs/post_deploy.py torchaudio-cpu
	$(BIN)/python -c "import torch, torchaudio, encodec, dac, vocos; print('setup: torch', torch.__version__)"
	touch $@

# The demo's CoSG part (configs/demo_cosg.yaml: MaskGCT with random weights) runs in MaskGCT's own env, built once
# offline by the stand-in conda of `make test-codecs` (Amphion from $CODECFAKE_UPSTREAM_MIRROR or ../shared/upstream,
# espeak-ng from the system); where that env cannot be built or cannot run MaskGCT, the demo runs without it and
# says why.
DEMO_COSG_ENV := $(VENV)/demo-cosg-env.yaml

demo: setup
	if PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python tests/harness/codec_envs.py --only maskgct \
	    --generator-config $(DEMO_COSG_ENV) >/dev/null; \
	then set -- configs/demo.yaml configs/demo_cosg.yaml $(DEMO_COSG_ENV); \
	else echo "demo: the CoSG part (MaskGCT) is left out, for the reason above"; set -- configs/demo.yaml; fi; \
	PATH="$(CURDIR)/$(BIN):$$PATH" HF_HUB_OFFLINE=1 $(BIN)/snakemake --configfile "$$@" --cores 2

test: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -q -p no:cacheprovider

# Every codec family's contract and parity tests inside its own env, built from envs/<family>.yaml by the stand-in
# conda of tests/harness, GitHub-only sources from $CODECFAKE_UPSTREAM_MIRROR (default ../shared/upstream where it
# exists); envs are cached between runs. Ends with `configurations_exercised=N passed=P`.
# CODEC_ENVS="encodec dac ..." limits it to those env files (default: every family).
test-codecs: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python tests/harness/codec_envs.py $(if $(CODEC_ENVS),--only $(CODEC_ENVS))

# The workflow through profiles/slurm on a throwaway one-node SLURM (tests/cluster/; needs root and apt-get).
test-cluster: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -q -p no:cacheprovider -rs tests/test_slurm.py

# The demo's Snakemake report (every table and figure in one self-contained page), then a headless-Chromium check
# that it renders with its figures (skipped, saying so, where no Chromium is installed).
report: demo
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --configfile configs/demo.yaml --report results/demo/report.html
	if command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; \
	then $(BIN)/python -m codecfake check report results/demo/report.html --out-dir results/demo/report_check; \
	else echo "report: no Chromium here (apt-get install -y chromium), rendering not checked"; fi

clean-demo:
	rm -rf results/demo

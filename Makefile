# The README's commands, one target each. `make help` lists them.
# Everything runs from .venv (make install creates it). Versions come from uv.lock.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
UV      = $(BIN)/uv
UV_VERSION = 0.13.9

.PHONY: help install demo test test-fast wheel-check eval-smoke lint lint-tools lock \
        lambda-requirements bundle build deploy validate emulator review-demo models ci clean

help:  ## this list
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 22

install:  ## .venv with parley and the test extra, at the versions uv.lock pins
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "uv==$(UV_VERSION)"
	$(UV) export --extra test --no-emit-project --format requirements-txt --quiet --frozen \
	  | $(BIN)/pip install --quiet --require-hashes -r /dev/stdin
	$(BIN)/pip install --quiet --no-deps -e .

demo:  ## the marketplace lesson on the embedded defaults
	$(BIN)/parley demo

test:  ## the whole test suite (includes the wheel check, ~40 s)
	$(BIN)/python -m pytest

test-fast:  ## the test suite without building and installing the wheel
	$(BIN)/python -m pytest --skip-wheel

wheel-check:  ## build the wheel from a clean copy, install it in a fresh venv, run it
	$(BIN)/python tools/check_wheel.py

eval-smoke:  ## the CI evaluation gate (local baseline and the emulator)
	$(BIN)/parley eval evals/smoke.yaml

models:  ## configured models and their Bedrock lifecycle status (needs AWS or the emulator)
	$(BIN)/parley models

emulator:  ## the Bedrock emulator on 127.0.0.1:8765
	$(BIN)/parley emulator --port 8765 --responder baseline

review-demo:  ## judge 60 labelled conversations, then serve the review queue on :8766
	$(BIN)/parley review demo && $(BIN)/parley review serve --reviewer alice

lint-tools:  ## ruff and mypy at the versions of the lock's lint group
	$(UV) export --only-group lint --no-emit-project --format requirements-txt --quiet --frozen \
	  | $(BIN)/pip install --quiet --require-hashes -r /dev/stdin

lint:  ## ruff (check, format) and mypy over every package
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

lock:  ## re-resolve uv.lock after a change to pyproject.toml, then re-export
	$(UV) lock
	$(MAKE) lambda-requirements

lambda-requirements:  ## export lambda-requirements.txt (hashed) from uv.lock
	$(UV) export --only-group lambda --no-emit-project --format requirements-txt --quiet \
	  --frozen -o lambda-requirements.txt

bundle:  ## build/lambda/<function>: one bundle per Lambda function
	$(BIN)/python tools/build_lambda.py

build: bundle  ## bundle, then sam build (needs Python 3.12 on the PATH, see README)
	sam build

validate:  ## cfn-lint and sam validate --lint on template.yaml
	$(BIN)/cfn-lint template.yaml
	sam validate --lint

deploy: build  ## sam deploy --guided (needs AWS)
	sam deploy --guided

ci:  ## what CI runs: .ci/run
	.ci/run

clean:  ## build output, reports and local databases
	rm -rf build dist .aws-sam evals/reports parley.db verdicts.db

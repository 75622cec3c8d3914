# The two commands of the README, plus the checks on their own.
.PHONY: run test check bench lock

run:  ## install (first time) and serve on 127.0.0.1:8000
	./scripts/serve $(ARGS)

test:  ## install with dev tools, lint + type-check, run the tests on SQLite and PostgreSQL
	./scripts/test $(ARGS)

check:
	./scripts/check

bench:  ## API throughput/latency vs a bare FastAPI app, and memory (see bench/README.md)
	bash scripts/_venv.sh dev
	.venv/bin/python bench/api_bench.py $(ARGS)

lock:  ## refresh requirements/*.txt from pyproject.toml's ranges (a reviewed change)
	./scripts/lock $(ARGS)

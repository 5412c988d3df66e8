# majlis — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GATEWAY_REPLICAS ?= 1
PROFILE ?= dev
export GATEWAY_REPLICAS PROFILE

.PHONY: help run test test-rust test-edge test-web test-deploy web bench lint fmt migrate build clean-test-data deps

help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

run: ## start PostgreSQL/Redis if needed, migrate, build, run every service + nginx at http://localhost:8080
	@bash deploy/local/run.sh

test: ## everything CI runs: deploy checks, fmt, clippy, unit + integration tests (real PostgreSQL/Redis), edge tests, web tests
	@bash tests/run.sh all

test-rust: ## fmt, clippy and the cargo tests only
	@bash tests/run.sh rust

test-edge: ## only the tests through the nginx edge (starts its own stack on spare ports)
	@bash tests/run.sh edge

test-web: ## only the SPA: typecheck, ESLint, Vitest, build, TypeScript Playwright (Debian chromium) e2e on spare ports
	@bash tests/run.sh web

test-deploy: ## offline checks of the Docker, compose, kustomize and Helm files (renders + schema validation)
	@bash tests/run.sh deploy

bench: ## the load generator's scenarios against a release stack (results: BENCHMARKS.md)
	@bash bench/run.sh

web: ## build the SPA into web/dist (served by the edge at /)
	cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build

lint: ## cargo fmt --check, clippy -D warnings, and the SPA's ESLint
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run lint

fmt: ## format the code
	cargo fmt --all

deps: ## make sure PostgreSQL and Redis are up (installs them as root when missing)
	@bash deploy/local/ensure-deps.sh

migrate: deps ## apply migrations to $$MAJLIS_DATABASE_URL (default: the local `majlis` database)
	@psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='majlis'" | grep -q 1 || createdb -h 127.0.0.1 -U postgres majlis
	MAJLIS_DATABASE_URL=$${MAJLIS_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/majlis} \
	cargo run -q -p auth-svc -- migrate

build: ## build every service binary
	cargo build --workspace --bins

clean-test-data: ## drop leftover majlis_test_* databases and Redis keys from interrupted runs
	@bash tests/run.sh clean

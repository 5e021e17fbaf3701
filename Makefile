# Packbench — the same steps CI runs (.ci/run), for humans.
#   make run    set up a fresh Debian 12 machine and run the hub's demo (SQLite, tenant `demo`)
#   make test   set up a fresh Debian 12 machine and run every test (SQLite and PostgreSQL)

SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PG_PORT ?= 55432
# The benchmark's durable PostgreSQL server (fsync on).
PG_DURABLE_PORT ?= 55433
export PACKBENCH_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:$(PG_PORT)/postgres
export PACKBENCH_REQUIRE_POSTGRES ?= 1
export PACKBENCH_REQUIRE_DESKTOP ?= 1
# The station's secrets' key must reach a real Secret Service (.ci/with-keyring).
export PACKBENCH_REQUIRE_KEYRING ?= 1
# The spooler tests print through a real CUPS server (.ci/cups-start).
CUPS_PORT ?= 6631
export PACKBENCH_TEST_CUPS ?= 127.0.0.1:$(CUPS_PORT)
export PACKBENCH_REQUIRE_CUPS ?= 1

# Debian packages: Tauri's build deps (webkit2gtk-4.1...), libusb for devices, Xvfb and
# WebKitWebDriver for the desktop window, Chromium for browser tests, PostgreSQL for tests,
# D-Bus and GNOME Keyring for the station's key in the OS keyring, Python's venv for
# Schemathesis (PyPI), MinGW-w64, Wine and NSIS for the Windows builds (.ci/windows,
# .ci/windows-station), CUPS for the
# spooler tests (Linux's `lp`, and Windows' spooler under Wine, which hands jobs to CUPS).
APT_PACKAGES := pkg-config build-essential file curl ca-certificates \
  libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev \
  librsvg2-dev libayatana-appindicator3-dev libxdo-dev libssl-dev libusb-1.0-0-dev \
  xvfb xauth imagemagick webkit2gtk-driver x11-utils at-spi2-core \
  chromium chromium-driver postgresql dbus gnome-keyring python3-venv \
  gcc-mingw-w64-x86-64 wine64 nsis cups-daemon cups-client libcups2

.PHONY: deps ui run test check fmt lint unit e2e api-fuzz pg cups bench bench-ui deb windows-hub windows-station windows macos-check

deps:
	@if dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then echo "apt packages: present"; else \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $(APT_PACKAGES); fi
	@command -v tauri-driver >/dev/null || cargo install tauri-driver --version '^2' --locked
	@command -v npm >/dev/null || { echo "the station UI needs Node 20.19+ and npm (ui/)"; exit 1; }

# The station UI (ui/): typecheck, unit tests (vitest), then the bundle the hub serves and
# the desktop app embeds. npm packages come from package-lock.json.
ui:
	cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run typecheck && npm test && npm run build

run: deps ui
	cargo run --release -p packbench-server --bin packbench -- demo --ui ui/dist

pg:
	@.ci/pg-start $(PG_PORT) >/dev/null && echo "PostgreSQL on 127.0.0.1:$(PG_PORT)"

cups:
	@.ci/cups-start $(CUPS_PORT) >/dev/null && echo "CUPS on 127.0.0.1:$(CUPS_PORT)"

fmt:
	cargo fmt --all -- --check

lint: ui
	cargo clippy --workspace --all-targets -- -D warnings

unit: pg cups ui
	xvfb-run -a .ci/with-keyring cargo test --workspace

# The whole bench in Debian's Chromium (playwright-core) against `packbench demo` on the sims.
e2e: ui
	cargo build -p packbench-server --bin packbench
	cd ui && node e2e/station.mjs

test: deps fmt lint unit e2e api-fuzz deb windows-hub windows-station macos-check

# The hub's load benchmark (BENCHMARKS.md) on SQLite and PostgreSQL.
bench: deps pg
	cargo build --release -p packbench-server
	d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && target/release/packbench-load --database "sqlite://$$d/bench.sqlite" --slow-ms 8
	psql "$(PACKBENCH_TEST_POSTGRES_URL)" -qc "drop database if exists packbench_bench" -c "create database packbench_bench"
	target/release/packbench-load --database "$${PACKBENCH_TEST_POSTGRES_URL%/*}/packbench_bench" --slow-ms 8
	# The same server through its Unix socket (a hub on the database's machine; README).
	psql "$(PACKBENCH_TEST_POSTGRES_URL)" -qc "drop database if exists packbench_bench" -c "create database packbench_bench"
	target/release/packbench-load --database "postgres://postgres@localhost/packbench_bench?host=$${TMPDIR:-/tmp}/packbench-pg-$(PG_PORT)&port=$(PG_PORT)" --slow-ms 8
	# A durable server beside it (fsync and synchronous_commit on), as a hub's would be.
	PG_DURABLE=1 .ci/pg-start $(PG_DURABLE_PORT) >/dev/null
	psql "postgres://postgres@127.0.0.1:$(PG_DURABLE_PORT)/postgres" -qc "drop database if exists packbench_bench" -c "create database packbench_bench"
	target/release/packbench-load --database "postgres://postgres@127.0.0.1:$(PG_DURABLE_PORT)/packbench_bench" --slow-ms 8
	cargo bench -p packbench-devices --bench print
	cargo bench -p packbench-labels --bench convert
	target/release/packbench-ship-load
	target/release/packbench-shop-load
	$(MAKE) bench-ui

# The station's figures: queue with 10,000 orders, scan → feedback (Chromium), and the desktop
# app's cold start and idle memory (release build, under Xvfb).
bench-ui: ui
	cargo build --release -p packbench-server --bin packbench
	cd ui && PACKBENCH_BIN=$(CURDIR)/target/release/packbench node e2e/bench.mjs
	cargo build --release --bin packbench-station
	xvfb-run -a node ui/e2e/desktop-bench.mjs


# Schemathesis against `packbench demo`, from the hub's OpenAPI document (.ci/api-fuzz).
api-fuzz: deps
	.ci/api-fuzz

# The hub and the device tool for Windows (cross-built with MinGW-w64), under Wine: one order
# through the hub, the devices crate's tests, a label through Windows' spooler to CUPS.
windows-hub: deps cups
	.ci/windows

# The Windows station and its installer, installed, started and uninstalled under Wine (a
# debug build: quicker, for CI).
windows-station: deps
	.ci/windows-station

# The Windows station's release installer, for a bench:
# target/x86_64-pc-windows-gnu/release/bundle/nsis/Packbench_VERSION_x64-setup.exe.
windows: deps
	.ci/windows-station --release

# macOS: the crates that need no Apple SDK, type-checked for aarch64-apple-darwin.
macos-check:
	.ci/macos-check

# The desktop station's .deb (Tauri CLI, installed if missing): built, installed, started under
# Xvfb to its first screen, removed again. The package is left in target/release/bundle/deb/.
deb: deps
	.ci/deb-check

# Everything starts from a fresh machine with Python 3.11+ and make: the first target that
# needs it creates .venv and installs simtcp with its lab and test extras, at the exact
# versions in constraints.txt (pyproject.toml states only compatible ranges).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test conformance figures lab student bench bench-full site site-test soak fuzz clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[lab,test,site]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m simtcp demo

test: $(STAMP)
	$(PY) -m pytest -q

# packetdrill scripts on the real kernel (root: private network namespaces) and on simtcp,
# long-timer scripts included; prints the table and "simtcp matches the kernel in N of M".
conformance: $(STAMP)
	SIMTCP_CONFORMANCE_LONG=1 $(PY) tests/conformance.py

figures: $(STAMP)
	$(PY) -m simtcp figures

# Jupyter refuses to start as root unless told; containers and lab machines often run as root
lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/ $$(if [ "$$(id -u)" = 0 ]; then echo --allow-root; fi)

student: $(STAMP)
	$(PY) -m simtcp student

bench: $(STAMP)
	$(PY) bench/bench_segments.py
	$(PY) bench/bench_ports.py
	$(PY) bench/bench_flood.py
	$(PY) bench/bench_hops.py
	$(PY) bench/bench_connections.py
	$(PY) bench/bench_firewall.py
	$(PY) bench/bench_scan.py

# the issue's full sizes: a million-SYN flood, 100,000 concurrent connections (long)
bench-full: $(STAMP)
	SIMTCP_BENCH_FULL=1 $(MAKE) bench

site: $(STAMP)
	$(PY) -m web.build_site --output site

site-test: $(STAMP)
	SIMTCP_SITE_TESTS=1 $(PY) -m pytest -q tests/test_site.py

soak: $(STAMP)
	PYTHONPATH=. $(PY) tests/soak.py 50000

# a million fuzz cases (not in CI); FUZZ_CASES=n for another count
fuzz: $(STAMP)
	SIMTCP_FUZZ_CASES=$${FUZZ_CASES:-1000000} PYTHONPATH=. $(PY) tests/fuzz_long.py

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache

#!/usr/bin/env bash
# The hot-path cost of --metrics (with a scrape a second during the load):
# bench/option_cost.sh with its default option. Run with --help.
exec "$(dirname "${BASH_SOURCE[0]}")/option_cost.sh" "$@"

#!/bin/sh
# Run one libFuzzer binary for a bounded time on top of its saved corpus.
#   run_fuzzer.sh FUZZER SECONDS CORPUS_DIR WORK_DIR [SAVE]
# New inputs go to WORK_DIR/new (emptied first), so the repository's corpus
# is only read; with SAVE=save they are merged into CORPUS_DIR afterwards
# (libFuzzer -merge=1 keeps only those that add coverage). A crash leaves its
# input in WORK_DIR (crash-*, leak-*, timeout-*) and fails the run.
set -eu
fuzzer=$1 secs=$2 corpus=$3 work=$4 save=${5:-}
rm -rf "$work/new"
mkdir -p "$work/new" "$corpus"
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/" "$work/new" "$corpus"
if [ "$save" = save ]; then
	"$fuzzer" -merge=1 -artifact_prefix="$work/" "$corpus" "$work/new"
fi

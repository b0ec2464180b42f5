#!/usr/bin/env bash
# bench/challenge/challenge.sbatch run here without Slurm: a stand-in `srun` runs the tasks one
# after another the way Slurm would run them side by side (SLURM_PROCID 0..3, output to
# task-%t.log), with CPU engines on a three-prompt workload. Checks that every task wrote its
# result and log and that summary.md collects them.
#   slurm_script_test.sh SOURCE_DIR CHALLENGE_PROGRAM
set -euo pipefail
source_dir=$1
program=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/bin"
cat >"$work/bin/srun" <<'SRUN'
#!/usr/bin/env bash
# srun --output=PATTERN bash -c SCRIPT: 4 tasks, one after another.
output=${1#--output=}; shift
status=0
for task in 0 1 2 3; do
  SLURM_PROCID=$task SLURM_CPUS_PER_TASK=1 "$@" >"${output//%t/$task}" 2>&1 || status=1
done
exit $status
SRUN
chmod +x "$work/bin/srun"
cat >"$work/w.json" <<'JSON'
{"format": "llama4-challenge-workload", "version": 1, "name": "slurm-test",
 "model": "chapter11-trained", "context_length": 64, "batch_sizes": [1, 2],
 "accuracy": {"identical_greedy_tokens": 2, "max_mean_kl": 0.01, "min_top1_agreement": 0.9,
              "max_perplexity_ratio": 1.05},
 "prompts": [{"ids": [4096, 12, 900], "max_new_tokens": 3},
             {"ids": [4096, 300, 41, 1020], "max_new_tokens": 2}]}
JSON

cd "$work"
PATH="$work/bin:$PATH" SLURM_SUBMIT_DIR="$work" SLURM_JOB_ID=42 CHALLENGE="$program" \
  WORKLOAD="$work/w.json" ENGINES="cpu-bf16 cpu-q8_0" CHALLENGE_ARGS="--no-bandwidth --no-thresholds" \
  bash "$source_dir/bench/challenge/challenge.sbatch" >"$work/job.log" 2>&1 || {
  cat "$work/job.log"; for log in results/42/task-*.log; do cat "$log"; done; exit 1; }

for task in 0 1 2 3; do
  engine=$([[ $task == 0 || $task == 2 ]] && echo cpu-bf16 || echo cpu-q8_0)
  [[ -f "results/42/task-$task-$engine/result.json" ]] || { echo "task $task wrote no result"; exit 1; }
  grep -q "engine $engine" "results/42/task-$task.log" || { echo "task $task log lacks its engine"; exit 1; }
done
[[ $(grep -c "^## Challenge: workload slurm-test" results/42/summary.md) == 4 ]] ||
  { echo "summary.md does not hold the 4 reports"; cat results/42/summary.md; exit 1; }
grep -q "results in results/42" job.log || { echo "the job did not say where the results are"; exit 1; }
echo "challenge.sbatch: 4 tasks, 4 results, one summary"

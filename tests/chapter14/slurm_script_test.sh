#!/usr/bin/env bash
# chapters/14_parallel/parallel.sbatch without Slurm: a stand-in `srun` starts the ranks with
# mpirun (as srun would start them with Slurm's process manager). Checks that the script runs the
# program with its split and the ranks' threads, and that the log shows rank 0's text.
#   slurm_script_test.sh SOURCE_DIR CHAPTER14_PROGRAM MPIEXEC
set -euo pipefail
source_dir=$1 program=$2 mpiexec=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
cat >"$work/bin/srun" <<SRUN
#!/usr/bin/env bash
# srun [--flags] PROGRAM ARGS...: 4 ranks through mpirun.
while [[ \$1 == --* ]]; do shift; done
exec "$mpiexec" -np 4 --oversubscribe "\$@"
SRUN
chmod +x "$work/bin/srun"
cd "$work"
PATH="$work/bin:$PATH" SLURM_SUBMIT_DIR="$work" SLURM_CPUS_PER_TASK=1 PROGRAM="$program" \
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ASAN_OPTIONS=detect_leaks=0 \
  ARGS="--prompt 'And God said' -n 6" \
  bash "$source_dir/chapters/14_parallel/parallel.sbatch" >"$work/job.log" 2>&1 ||
  { cat "$work/job.log"; exit 1; }
grep -q "4 ranks\|ranks: $program --tp 2 --ep 4" "$work/job.log" || { echo "no start line"; cat "$work/job.log"; exit 1; }
grep -q "rank 0 of 4: tp 2, ep 4" "$work/job.log" || { echo "rank 0 did not report its split"; cat "$work/job.log"; exit 1; }
grep -q "unto him" "$work/job.log" || { echo "no text"; cat "$work/job.log"; exit 1; }
[[ $(grep -c "unto him" "$work/job.log") == 1 ]] || { echo "more than one rank printed"; exit 1; }
echo "parallel.sbatch: 4 ranks, --tp 2 --ep 4, one text"

# Sourced by bench/ab.sh and bench/allocs.sh: base_worktree REV checks REV
# out in target/ab/base (a git worktree, made on first use) and prints the
# worktree's path.
base_worktree() {
  local wt=$PWD/target/ab/base
  if [ ! -d "$wt" ]; then
    git worktree add --detach -f "$wt" "$1" >/dev/null
  else
    git -C "$wt" checkout -q --detach "$1"
  fi
  echo "$wt"
}

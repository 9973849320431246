#!/bin/sh
# Runs one demo and checks its output.  Usage: check.sh TEST PROGRAM
# TEST is the ctest name without "demo-".  Every run happens in a fresh
# temporary directory that is removed afterwards.  UVA_DEMO_WRAPPER (may be
# empty) is put in front of the program, e.g. a valgrind command.
set -u
name=$1
prog=$2
case $prog in /*) ;; *) prog=$PWD/$prog ;; esac # it runs in another dir
wrap=${UVA_DEMO_WRAPPER:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uva-demo-$name.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/work"

fail() {
  echo "FAIL demo-$name: $*"
  echo "--- stdout:"; cat "$tmp/out"
  echo "--- stderr:"; cat "$tmp/err"
  exit 1
}

# run ARGS...: runs the program in $tmp/work; stdout to $tmp/out, stderr to
# $tmp/err, exit status to $status.
run() {
  (cd "$tmp/work" && exec $wrap "$prog" "$@") >"$tmp/out" 2>"$tmp/err"
  status=$?
}

# expect STATUS: checks the exit status, then that stdout is exactly stdin.
expect() {
  cat >"$tmp/want"
  [ "$status" -eq "$1" ] || fail "exit status $status, want $1"
  diff -u "$tmp/want" "$tmp/out" >"$tmp/diff" || {
    cat "$tmp/diff"
    fail "stdout differs"
  }
}

# has LINE: checks that stdout has LINE as a whole line.
has() {
  grep -qxF -- "$1" "$tmp/out" || fail "no line '$1'"
}

case $name in
hello)
  run
  expect 0 <<'END'
Hello, world!
END
  ;;

read_write)
  run
  expect 0 <<'END'
Read 9 bytes
Wrote 9 bytes
END
  # It made and removed its own temporary files.
  [ -z "$(ls -A "$tmp/work")" ] || fail "left files behind"
  ;;

read_write-arg)
  printf 'a file of 24 bytes, ok?\n' >"$tmp/work/in.txt"
  run in.txt
  expect 0 <<'END'
Read 24 bytes
Wrote 24 bytes
END
  [ ! -e "$tmp/work/in.txt.out" ] || fail "the copy was not removed"
  [ "$(cat "$tmp/work/in.txt")" = 'a file of 24 bytes, ok?' ] ||
    fail "the input changed"
  ;;

my_future)
  run
  expect 0 <<'END'
Future resolved with: 42
END
  ;;

sleep)
  start=$(date +%s%N)
  run
  end=$(date +%s%N)
  elapsed_ms=$(( (end - start) / 1000000 ))
  expect 0 <<'END'
Async completed
END
  [ "$elapsed_ms" -ge 2000 ] || fail "took $elapsed_ms ms, want >= 2000"
  echo "sleep took $elapsed_ms ms"
  ;;

spawn)
  run
  expect 0 <<'END'
Task 1 completed, Task 2 completed
END
  ;;

channel)
  run
  expect 0 <<'END'
Received: Message from async task
END
  ;;

errors)
  # No example.txt in the working directory.
  run
  expect 0 <<'END'
Error reading file: no such file or directory
END
  ;;

errors-file)
  # The content is printed exactly as read and println! adds a newline, so
  # the file's own trailing newline shows as an empty line.
  printf 'Hello from example.txt\nsecond line\n' >"$tmp/work/example.txt"
  run
  expect 0 <<'END'
File content: Hello from example.txt
second line

END
  ;;

existing_loop)
  run
  [ "$status" -eq 0 ] || fail "exit status $status"
  # The interleaving of ticks and task output depends on timing; check the
  # parts that do not.
  grep '^task step ' "$tmp/out" >"$tmp/steps"
  printf 'task step 1\ntask step 2\ntask step 3\n' >"$tmp/want"
  diff -u "$tmp/want" "$tmp/steps" || fail "task steps wrong"
  for line in 'tick 1' 'tick 2' 'tick 3' 'tick 4' 'tick 5' \
    'task saw tick 5' 'echo: hello from a uva task' \
    'tasks done, closing the timer and the server'; do
    has "$line"
  done
  # "task saw tick 5" comes after "tick 5"; nothing after the last line.
  sed -n '/^tick 5$/,$p' "$tmp/out" | grep -qxF 'task saw tick 5' ||
    fail "'task saw tick 5' before 'tick 5'"
  [ "$(tail -n 1 "$tmp/out")" = 'uv_loop_close: 0' ] ||
    fail "last line is not 'uv_loop_close: 0'"
  [ "$(grep -c 'tasks done' "$tmp/out")" -eq 1 ] || fail "done twice"
  ;;

wordcount)
  # A small tree with known counts, and 40 more files so that the queue
  # (8 paths) fills up and the producer has to wait for the workers.
  d=$tmp/work/tree
  mkdir -p "$d/sub/deeper" "$d/gen" "$d/empty-dir"
  printf 'The quick brown fox jumps over the lazy dog.\n' >"$d/a.txt"
  printf "The dog barks; the FOX runs!\nDon't panic.\n" >"$d/sub/b.txt"
  printf 'fox fox\tfox\n\nfox-fox 42\n' >"$d/sub/deeper/c.txt"
  : >"$d/sub/empty.txt"
  i=1
  while [ "$i" -le 40 ]; do
    printf 'alpha beta\nalpha\n' >"$d/gen/f$i.txt"
    i=$((i + 1))
  done
  # Words: a.txt 9, b.txt 9 (don't is two: don, t), c.txt 6 (fox-fox is
  # two), empty.txt 0, gen 40 * 3 = 120; 144 in all.
  # alpha 80, beta 40, fox 1 + 1 + 5 = 7, then the 2 + 2 = 4.
  run tree
  expect 0 <<'END'
files: 44 words: 144
alpha 80
beta 40
fox 7
END
  ;;

*)
  echo "check.sh: unknown test '$name'"
  exit 2
  ;;
esac
echo "ok demo-$name"
exit 0

#!/bin/sh
# Runs one demo and checks its output.  Usage: check.sh TEST PROGRAM [OTHER]
# TEST is the ctest name without "demo-"; OTHER is a second program (the
# echo tests: the client).  Every run happens in a fresh
# temporary directory that is removed afterwards.  UVA_DEMO_WRAPPER (may be
# empty) is put in front of the program, e.g. a valgrind command.
set -u
name=$1
prog=$2
case $prog in /*) ;; *) prog=$PWD/$prog ;; esac # it runs in another dir
other=${3:-}
case $other in /* | '') ;; *) other=$PWD/$other ;; esac
wrap=${UVA_DEMO_WRAPPER:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uva-demo-$name.XXXXXX") || exit 1
pids=""
trap 'for p in $pids; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
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

# start_server ARGS...: starts the program in the background (stdout to
# $tmp/out) and sets $spid and $port from its "listening on" line.
start_server() {
  (cd "$tmp/work" && exec $wrap "$prog" "$@") >"$tmp/out" 2>"$tmp/err" &
  spid=$!
  pids="$pids $spid"
  port=""
  i=0
  while [ -z "$port" ] && [ $i -lt 600 ]; do # up to 60 s (valgrind)
    sleep 0.1
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/out")
    i=$((i + 1))
  done
  [ -n "$port" ] || fail "the server printed no port"
}

# start_hold [ARGS]: an echo client that holds its connection open (after
# one echo, unless ARGS say otherwise), in the background (stdout to
# $tmp/hold); waits until it holds.
start_hold() {
  $wrap "$other" --port "$port" --hold "$@" >"$tmp/hold" 2>"$tmp/hold.err" &
  hpid=$!
  pids="$pids $hpid"
  i=0
  until grep -qxF 'holding the connection open' "$tmp/hold"; do
    [ $i -lt 600 ] || fail "the holding client never held"
    sleep 0.1
    i=$((i + 1))
  done
}

# wait_for PID WHAT: waits for a background program; its status to $status.
wait_for() {
  wait "$1"
  status=$?
}

# server_out: the server's stdout with its port replaced by PORT.
server_out() {
  sed "s/^listening on 127\.0\.0\.1:$port\$/listening on 127.0.0.1:PORT/" \
    "$tmp/out" >"$tmp/out.p" && mv "$tmp/out.p" "$tmp/out"
}

case $name in
echo)
  # The echo server on a port of the kernel's choosing; 8 clients x 50
  # echoes; then a client that holds its connection while the server gets
  # SIGINT: the server stops accepting, waits 500 ms, closes it.
  start_server --port 0 --grace-ms 500
  $wrap "$other" --port "$port" --clients 8 --requests 50 \
    >"$tmp/client" 2>"$tmp/client.err" || {
    cat "$tmp/client" "$tmp/client.err"
    fail "the client failed"
  }
  [ "$(grep -v '^rate: [0-9]* requests/s$' "$tmp/client")" = \
    '8 clients x 50 requests of 64 bytes: 400 echoes, every byte matched' ] || {
    cat "$tmp/client"
    fail "client output"
  }
  grep -q '^rate: ' "$tmp/client" || fail "no rate"
  start_hold
  kill -INT "$spid"
  wait_for "$hpid"
  [ "$status" -eq 0 ] || fail "the holding client exited $status"
  grep -qxF 'the server closed the connection' "$tmp/hold" ||
    fail "the holding client: $(cat "$tmp/hold" "$tmp/hold.err")"
  wait_for "$spid"
  server_out
  expect 0 <<'END'
listening on 127.0.0.1:PORT
shutdown (SIGINT): no longer accepting; 1 connection open, waiting up to 500 ms
shutdown: deadline passed, closing 1 connection
served 9 connections, 25664 bytes echoed
END
  ;;

echo-reuseport | echo-handoff)
  # The same with 2 loops in 2 threads: every loop listens on the port
  # (reuseport), or loop 0 accepts and hands each connection to loop 1
  # (handoff).  The echoes and the shutdown are checked as above; the split
  # of the connections between the loops must add up (handoff: loop 0
  # serves none).  Then --exit-after 1 and the idle timeout on 2 loops.
  mode=${name#echo-}
  start_server --port 0 --grace-ms 500 --threads 2 --mode "$mode"
  $wrap "$other" --port "$port" --clients 8 --requests 50 \
    >"$tmp/client" 2>"$tmp/client.err" || {
    cat "$tmp/client" "$tmp/client.err"
    fail "the client failed"
  }
  [ "$(grep -v '^rate: [0-9]* requests/s$' "$tmp/client")" = \
    '8 clients x 50 requests of 64 bytes: 400 echoes, every byte matched' ] || {
    cat "$tmp/client"
    fail "client output"
  }
  start_hold
  kill -INT "$spid"
  wait_for "$hpid"
  [ "$status" -eq 0 ] || fail "the holding client exited $status"
  grep -qxF 'the server closed the connection' "$tmp/hold" ||
    fail "the holding client: $(cat "$tmp/hold" "$tmp/hold.err")"
  wait_for "$spid"
  server_out
  split=$(sed -n 's/^connections per loop: \([0-9]*\) \([0-9]*\)$/\1 \2/p' "$tmp/out")
  [ -n "$split" ] || fail "no split of the connections"
  set -- $split
  [ $(($1 + $2)) -eq 9 ] || fail "the loops served $1 + $2 connections, want 9"
  [ "$mode" = reuseport ] || [ "$1" -eq 0 ] || fail "loop 0 served $1"
  grep -v '^connections per loop: ' "$tmp/out" >"$tmp/out.p" && mv "$tmp/out.p" "$tmp/out"
  if [ "$mode" = reuseport ]; then
    shutdown_line='shutdown (SIGINT): no longer accepting on 2 loops; waiting up to 500 ms'
  else
    shutdown_line='shutdown (SIGINT): no longer accepting; 1 connection open, waiting up to 500 ms'
  fi
  expect 0 <<END
listening on 127.0.0.1:PORT
2 loops in 2 threads, mode $mode
$shutdown_line
shutdown: deadline passed, closing 1 connection
served 9 connections, 25664 bytes echoed
END
  start_server --port 0 --exit-after 1 --idle-ms 200 --threads 2 --mode "$mode"
  start_hold --requests 0
  wait_for "$hpid"
  [ "$status" -eq 0 ] || fail "the holding client exited $status"
  grep -qxF 'the server closed the connection' "$tmp/hold" ||
    fail "the holding client: $(cat "$tmp/hold" "$tmp/hold.err")"
  wait_for "$spid"
  server_out
  grep -qxF 'connections per loop: 0 1' "$tmp/out" ||
    [ "$mode" = reuseport ] || fail "loop 1 did not serve the connection"
  grep -v '^connections per loop: ' "$tmp/out" >"$tmp/out.p" && mv "$tmp/out.p" "$tmp/out"
  if [ "$mode" = reuseport ]; then
    shutdown_line='shutdown (accepted 1 connection): no longer accepting on 2 loops; waiting up to 2000 ms'
  else
    shutdown_line='shutdown (accepted 1 connection): no longer accepting; 1 connection open, waiting up to 2000 ms'
  fi
  expect 0 <<END
listening on 127.0.0.1:PORT
2 loops in 2 threads, mode $mode
$shutdown_line
connection 1: idle for 200 ms, closing
served 1 connection, 0 bytes echoed
END
  ;;

echo-idle)
  # --exit-after 1: the server stops accepting after one connection, which
  # sends nothing (so no timing matters, also under valgrind): after 200 ms
  # the idle timeout closes it.
  start_server --port 0 --exit-after 1 --idle-ms 200
  start_hold --requests 0
  wait_for "$hpid"
  [ "$status" -eq 0 ] || fail "the holding client exited $status"
  grep -qxF 'the server closed the connection' "$tmp/hold" ||
    fail "the holding client: $(cat "$tmp/hold" "$tmp/hold.err")"
  wait_for "$spid"
  server_out
  expect 0 <<'END'
listening on 127.0.0.1:PORT
shutdown (accepted 1 connection): no longer accepting; 1 connection open, waiting up to 2000 ms
connection 1: idle for 200 ms, closing
served 1 connection, 0 bytes echoed
END
  ;;

chat)
  # The server and three clients in one process: carol never reads and is
  # disconnected; bob gets all of alice's lines.  The joins come in order;
  # the other lines in an order that depends on timing.
  run --demo --lines 100000
  [ "$status" -eq 0 ] || fail "exit status $status"
  head -n 4 "$tmp/out" >"$tmp/head"
  diff -u - "$tmp/head" <<'END' || fail "the first lines differ"
chat: every line goes to every other client; a client whose queue (64 lines) is full is disconnected
carol joined
bob joined
alice joined
END
  sort "$tmp/out" >"$tmp/sorted"
  sort <<'END' | diff -u - "$tmp/sorted" || fail "the lines differ"
chat: every line goes to every other client; a client whose queue (64 lines) is full is disconnected
carol joined
bob joined
alice joined
carol disconnected: too slow (64 lines queued)
bob got 100000 lines from alice, in order
alice got: bob: bye
bob left
alice left
chat: shutting down
chat: 3 clients served, 1 disconnected as too slow
END
  # carol goes before bob has everything; the summary is last.
  sed -n '/^carol disconnected/,$p' "$tmp/out" | grep -q '^bob got ' ||
    fail "carol was disconnected after bob got every line"
  [ "$(tail -n 1 "$tmp/out")" = \
    'chat: 3 clients served, 1 disconnected as too slow' ] || fail "last line"
  ;;

pipeline)
  run
  expect 0 <<'END'
sort wrote:
  apple
  banana
  cherry
sort: exited with status 0
sh -c 'exit 3': exited with status 3
sleep 10: still running after 100 ms, sending SIGTERM
sleep 10: killed by signal 15 (SIGTERM)
END
  ;;

pool)
  # 8 jobs on a pool of 4 loops; which loop ran each goes to stderr.
  run
  expect 0 <<'END'
a pool of 4 loops, each in a thread of its own
8 reports over the channel (every job once): 23862 primes
job 0: 1229 primes below 10000, checked from its file
job 1: 1754 primes below 15000, checked from its file
job 2: 2262 primes below 20000, checked from its file
job 3: 2762 primes below 25000, checked from its file
job 4: 3245 primes below 30000, checked from its file
job 5: 3732 primes below 35000, checked from its file
job 6: 4203 primes below 40000, checked from its file
job 7: 4675 primes below 45000, checked from its file
total: 23862 primes; 8 of 8 jobs ran on the pool's threads
the pool shut down cleanly
END
  [ "$(grep -c '^job [0-7] ran on loop [0-3] of the pool$' "$tmp/err")" -eq 8 ] ||
    fail "stderr: which loop ran each job"
  ;;

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

top)
  run
  expect 0 <<'END'
tasks: 3 alive, 1 running, 2 suspended
awaited by tasks: sleep 1, chan_recv 1
consumer got 3 messages
tasks: 1 alive, 1 running, 0 suspended
END
  grep -q "^  awaits: sleep (" "$tmp/err" || fail "no sleep in the dump"
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
    'read timed out after 20 ms; its cancel hook stopped reading' \
    'echo: [adopted] hello from a uva task' \
    'adopted connection: the task is done, the program closes it' \
    'tasks done, closing the timer and the server'; do
    has "$line"
  done
  # The adopted connection is the first; the probe comes before it.
  grep -e '^echo: ' -e '^read timed out' "$tmp/out" >"$tmp/echoes"
  printf '%s\n' 'read timed out after 20 ms; its cancel hook stopped reading' \
    'echo: [adopted] hello from a uva task' 'echo: hello from a uva task' \
    >"$tmp/want"
  diff -u "$tmp/want" "$tmp/echoes" || fail "echo lines wrong"
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

crawler)
  # The demo's own site of 40 pages (4 broken links): every page once.
  run
  { echo 'crawling a site of 40 pages from page0.txt, 4 at a time, 200 pages/s'
    i=0
    while [ $i -lt 40 ]; do
      links=$((2 + (i < 39) + (i % 13 == 0)))
      echo "page$i.txt: $((i + 5)) words, $links links"
      i=$((i + 1))
    done | sort
    echo 'crawled 40 pages, 980 words, 4 broken links'
  } >"$tmp/want.site"
  expect 0 <"$tmp/want.site"
  # A site given on the command line: links to itself, a loop, a broken
  # link, a page with no links.
  mkdir "$tmp/work/site"
  printf 'link: b.txt\nlink: c.txt\nlink: a.txt\none two three\n' >"$tmp/work/site/a.txt"
  printf 'link: a.txt\nlink: gone.txt\nfour\n' >"$tmp/work/site/b.txt"
  printf 'five six\n' >"$tmp/work/site/c.txt"
  run site/a.txt --concurrency 1 --rate 1000
  expect 0 <<'END'
crawling site from a.txt, 1 at a time, 1000 pages/s
a.txt: 3 words, 3 links
b.txt: 1 words, 2 links
c.txt: 2 words, 0 links
crawled 3 pages, 6 words, 1 broken links
END
  ;;

crawler-stop)
  # The deadline: fetches take 100 ms each, the crawl is stopped at 250 ms;
  # every fetch cleans up (the loop closes, valgrind finds no leak).
  run --delay 100 --deadline 250
  [ "$status" -eq 1 ] || fail "exit status $status, want 1"
  grep -q '^stopped by deadline after [0-9]* pages$' "$tmp/out" ||
    fail "no 'stopped by deadline' line"
  grep -q '^crawled [0-9]* pages, ' "$tmp/out" || fail "no summary"
  grep -q 'uv_loop_close failed' "$tmp/err" && fail "the loop did not close"
  # SIGINT while fetches run.
  (cd "$tmp/work" && exec $wrap "$prog" --delay 200 --concurrency 2) \
    >"$tmp/out" 2>"$tmp/err" &
  cpid=$!
  pids="$pids $cpid"
  i=0
  until grep -q '^crawling ' "$tmp/out"; do
    [ $i -lt 600 ] || fail "the crawler never started"
    sleep 0.1
    i=$((i + 1))
  done
  sleep 0.3
  kill -INT "$cpid"
  wait_for "$cpid"
  [ "$status" -eq 1 ] || fail "exit status $status, want 1"
  grep -q '^stopped by SIGINT after [0-9]* pages$' "$tmp/out" ||
    fail "no 'stopped by SIGINT' line"
  grep -q 'uv_loop_close failed' "$tmp/err" && fail "the loop did not close"
  ;;

*)
  echo "check.sh: unknown test '$name'"
  exit 2
  ;;
esac
echo "ok demo-$name"
exit 0

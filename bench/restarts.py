#!/usr/bin/env python3
# bench/restarts.py TASKD DATA STARTS CREATES: a node restarted in a loop (issue 19). Starts
# TASKD STARTS times on the data directory DATA, CREATES creates each, kill -9 on odd starts and
# SIGTERM on even ones; prints the recovery time (the "ready:" line), the journal segments and
# the directory's length and allocated bytes after chosen starts, then taskd --check-data DATA.
# Figures in BENCHMARKS.md ("Recovery after many starts"):
#   bench/restarts.py build/release/app/taskd/taskd /tmp/restarts 300 10
import http.client, json, os, re, signal, subprocess, sys, uuid
taskd, data, starts, creates = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tenant = str(uuid.uuid4())
def usage():
    segs = [f for f in os.listdir(data) if f.startswith("journal-")]
    size = alloc = 0
    for f in os.listdir(data):
        st = os.stat(os.path.join(data, f)); size += st.st_size; alloc += st.st_blocks * 512
    return len(segs), size, alloc
report_at = {1, 10, 50, 100, 150, 200, 250, 300, starts}
rec = []
for n in range(1, starts + 1):
    p = subprocess.Popen([taskd, "--listen", "127.0.0.1:0", "--data-dir", data, "--threads", "1"],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    port = ms = None
    for line in p.stderr:
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if m: port = int(m.group(1))
        m = re.search(r"ready: .* in (\d+) ms", line)
        if m: ms = int(m.group(1)); break
    token = open(os.path.join(data, "admin.token")).read().strip()
    c = http.client.HTTPConnection("127.0.0.1", port)
    for i in range(creates):
        c.request("POST", "/tasks", json.dumps({"tenant_id": tenant, "type": "m"}), {"Authorization": "Bearer " + token})
        r = c.getresponse(); r.read(); assert r.status == 201, r.status
    c.close()
    p.send_signal(signal.SIGKILL if n % 2 else signal.SIGTERM)
    p.wait(); p.stderr.close()
    rec.append(ms)
    if n in report_at:
        s, size, alloc = usage()
        print(f"start {n:4d}: recovery {ms:5d} ms (mean of last 10: {sum(rec[-10:])/len(rec[-10:]):7.1f}); "
              f"segments {s}; files {size/2**20:9.1f} MiB long, {alloc/2**20:9.1f} MiB allocated", flush=True)
p = subprocess.run([taskd, "--check-data", data], capture_output=True, text=True)
print(p.stdout + p.stderr)

// A bot backend's call to handrail serve, with Node's built-in fetch (Node 18 or later), no package.
//
//   handrail serve --listen 127.0.0.1:8787 &
//   node examples/serve/client.mjs http://127.0.0.1:8787
//
// Set HANDRAIL_TOKEN when the server was started with --token-file. Exits non-zero if a decision is not the one
// this sample expects.

const base = (process.argv[2] ?? process.env.HANDRAIL_URL ?? "http://127.0.0.1:8787").replace(/\/$/, "");
const token = process.env.HANDRAIL_TOKEN;

async function call(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(base + path, { method, headers, body: body && JSON.stringify(body) });
    if ((response.status === 429 || response.status === 503) && attempt < 4) {
      const wait = Number(response.headers.get("Retry-After") ?? "1");
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      continue;
    }
    return [response.status, await response.json()];
  }
}

async function decide(event) {
  const [status, body] = await call("POST", "/v1/decide", event);
  // 400: the event was invalid and got the fail-safe; 503 with a decision: the log could not record it, follow
  // the fail-safe (a person), never answer.
  if (status === 200) return body;
  if (body.decision) return body.decision;
  throw new Error(`${status}: ${body.error}`);
}

const conversation = `node-${process.pid}`;
const sample = [
  [{ text: "Hi! What are your opening hours?", confidence: 0.92 }, "answer"],
  [{ text: "can I talk to a real person please", confidence: 0.95 }, "handoff"],
  [{ text: "hello? still there?", confidence: 0.9 }, "hold"],
  [{ type: "agent_joined" }, "hold"],
  [{ type: "hand_back" }, "answer"],
];
let wrong = 0;
for (const [event, expected] of sample) {
  const decision = await decide({ ...event, conversation });
  console.log(`${(event.text ?? event.type).padEnd(40)} -> ${decision.action.padEnd(8)} ${(decision.say ?? []).join(" ")}`);
  if (decision.action !== expected) {
    console.error(`  expected ${expected}`);
    wrong++;
  }
}
const [, state] = await call("GET", `/v1/conversations/${conversation}`);
console.log(`state: ${state.state.phase} after ${state.state.turn} messages`);
process.exit(wrong ? 1 : 0);

// The Socket.IO 4 peer for scenario (a) of issue #8: one process of a
// two-process Socket.IO server joined by @socket.io/redis-adapter, doing the
// same fan-out work as majlis's chat gateway (no persistence, no auth) so
// that `majlis-loadgen --scenario sio-fanout` can measure it the same way.
"use strict";

const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

const PORT = Number(process.env.PORT || 24090);
const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
// The adapter's pub/sub channel prefix: runs sharing one Redis must not hear
// each other's broadcasts.
const REDIS_KEY = process.env.SIO_REDIS_KEY || "majlis-sio-peer";

function log(...args) {
  console.error(`[sio-peer :${PORT}]`, ...args);
}

async function main() {
  const pub = createClient({ url: REDIS_URL });
  const sub = pub.duplicate();
  pub.on("error", (e) => log("redis pub client:", e));
  sub.on("error", (e) => log("redis sub client:", e));
  await Promise.all([pub.connect(), sub.connect()]);

  const io = new Server({
    // majlis's gateways speak WebSocket only; long polling would be a
    // different (and slower) workload.
    transports: ["websocket"],
    serveClient: false,
    adapter: createAdapter(pub, sub, { key: REDIS_KEY }),
  });

  // Per-room seq, local to this process: the benchmark has exactly one
  // publisher, connected to one process, so this counter is monotonic for the
  // room and the generator can count loss and duplicates by seq.
  const seqs = new Map();

  io.on("connection", (socket) => {
    const channel = socket.handshake.auth?.channel ?? socket.handshake.query?.channel;
    if (typeof channel !== "string" || channel === "") {
      log("connection without a channel; closing", socket.id);
      socket.disconnect(true);
      return;
    }
    socket.join(channel);

    socket.on("message", (msg, ack) => {
      if (msg === null || typeof msg !== "object" || typeof msg.content !== "string") {
        log("malformed message from", socket.id, JSON.stringify(msg));
        return;
      }
      const seq = (seqs.get(channel) || 0) + 1;
      seqs.set(channel, seq);
      const clientId = msg.client_id;
      const reply = { type: "ack", seq, client_id: clientId };
      if (typeof ack === "function") {
        ack(reply);
      } else {
        socket.emit("ack", reply);
      }
      io.to(channel).emit("message", { type: "message", seq, content: msg.content, client_id: clientId });
    });

    socket.on("error", (e) => log("socket", socket.id, "error:", e));
  });

  io.listen(PORT);
  // The engine and the HTTP server exist only once the server is attached.
  io.engine.on("connection_error", (e) => log("engine connection error:", e.code, e.message));
  // bench/run.sh waits for this line, so it must mean the port is bound.
  io.httpServer.on("listening", () => log(`listening (redis ${REDIS_URL}, key ${REDIS_KEY})`));
  io.httpServer.on("error", (e) => {
    log("http server:", e);
    process.exit(1);
  });

  const stop = async (signal) => {
    log(`${signal}: closing`);
    io.close();
    for (const r of await Promise.allSettled([pub.quit(), sub.quit()])) {
      if (r.status === "rejected") log("redis quit:", r.reason);
    }
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

// The adapter publishes without awaiting, so a failed PUBLISH surfaces here.
process.on("unhandledRejection", (e) => {
  log("unhandled rejection:", e);
  process.exitCode = 1;
});

main().catch((e) => {
  log("startup failed:", e);
  process.exit(1);
});

// Login sessions of an express app kept in distcache, so that every host
// behind the load balancer sees them:
//   DISTCACHE_ADDR=UNIX:/tmp/scache node express_app.mjs
import process from "node:process";
import express from "express";
import session from "express-session";
import { DistcacheStore } from "@distcache/distcache/session";

const store = new DistcacheStore({
  target: process.env.DISTCACHE_ADDR ?? "UNIX:/tmp/scache",
});
const app = express();
app.use(session({
  store,
  secret: process.env.SESSION_SECRET ?? "change me",
  resave: false,
  saveUninitialized: false,
  cookie: { maxAge: 30 * 60_000 }, // also the session's lifetime in the cache
}));
app.get("/", (req, res) => {
  req.session.visits = (req.session.visits ?? 0) + 1;
  res.send(`visit ${req.session.visits}\n`);
});

const server = app.listen(Number(process.env.PORT ?? 8080), () => {
  console.log(`listening on ${server.address().port}`);
});
process.on("SIGTERM", () => server.close(() => store.close()));

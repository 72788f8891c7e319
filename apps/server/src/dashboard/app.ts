/// <reference lib="dom" />
/**
 * The dashboard's script (built into `dist/public/app.js` with uPlot bundled in).
 *
 * It loads the recent samples (`GET /api/samples`), then follows `GET /api/events`
 * (samples, tunable changes, daemon state) and redraws the charts as samples come.
 * Changes (tunables, daemon start and stop, target scale) go to the API with the
 * token from the Token field (kept in this tab's sessionStorage; a `#token=...`
 * fragment in the address fills it too, and is removed from the address bar).
 */
import uPlot from "uplot"
import "uplot/dist/uPlot.min.css"
import "./app.css"

/** Points kept per chart: ten minutes at one a second. */
const MAX_POINTS = 600
const GiB = 1024 * 1024 * 1024

interface NodeSample {
  readonly id: number
  readonly label: string
  readonly tier: number
  readonly capacityPages: number
  readonly usedPages: number
  readonly freePages: number
}

interface Sample {
  readonly time: number
  readonly pageSize: number
  readonly nodes: ReadonlyArray<NodeSample>
  readonly promotedPerSec: number
  readonly demotedPerSec: number
  readonly scannedPerSec: number
  readonly counters: Readonly<Record<string, number>>
  readonly topTierShare?: number
  readonly oracleShare?: number
}

interface Knob {
  readonly name: string
  readonly default: number | boolean
  readonly min?: number
  readonly max?: number
  readonly unit: string
  readonly doc: string
}

interface DaemonStatus {
  readonly state: "running" | "stopped" | "crashed"
  readonly since: number
  readonly reason?: string
}

interface Target {
  readonly id: number
  readonly name: string
  readonly pages: number
  readonly scale: number
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`missing #${id}`)
  return el as T
}

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Readonly<Record<string, unknown>> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] => {
  const node: HTMLElementTagNameMap[K] = document.createElement(tag)
  Object.assign(node, props)
  node.append(...children)
  return node
}

const fmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 })
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 2 })
const clock = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" })

// ---------------------------------------------------------------------------
// Token and API calls
// ---------------------------------------------------------------------------

const tokenInput = $<HTMLInputElement>("token")
{
  const fromHash = /(?:^#|&)token=([^&]+)/.exec(location.hash)
  if (fromHash) {
    sessionStorage.setItem("kmm-token", decodeURIComponent(fromHash[1]))
    history.replaceState(null, "", location.pathname + location.search)
  }
  tokenInput.value = sessionStorage.getItem("kmm-token") ?? ""
  tokenInput.addEventListener("input", () => sessionStorage.setItem("kmm-token", tokenInput.value.trim()))
}

/** A failed call: the server's message when it sent one. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> | undefined
  ) {
    super(message)
  }
}

const call = async <A>(method: string, path: string, body?: unknown): Promise<A> => {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers["content-type"] = "application/json"
  const token = tokenInput.value.trim()
  if (method !== "GET" && token !== "") headers.authorization = `Bearer ${token}`
  const response = await fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  const text = await response.text()
  let parsed: unknown = undefined
  try {
    parsed = text === "" ? undefined : JSON.parse(text)
  } catch {
    parsed = undefined
  }
  if (!response.ok) {
    const obj = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : undefined
    const message = typeof obj?.message === "string" ? obj.message : `${response.status} ${response.statusText}`
    const hint = response.status === 401 ? " (enter the server's token in the Token field)" : ""
    throw new ApiError(response.status, `${message}${hint}`, obj)
  }
  return parsed as A
}

const showError = (target: HTMLElement, error: unknown) => {
  target.textContent = error instanceof Error ? error.message : String(error)
  target.hidden = false
}

// ---------------------------------------------------------------------------
// Charts
// ---------------------------------------------------------------------------

const palette = ["#2f6fde", "#d9480f", "#2b8a3e", "#9c36b5", "#e67700", "#0b7285", "#5c940d", "#c2255c"]

interface Chart {
  readonly plot: uPlot
  readonly data: Array<Array<number | null>>
}

const makeChart = (container: HTMLElement, labels: ReadonlyArray<string>, options: { readonly yRange?: [number, number]; readonly dashed?: ReadonlyArray<number> } = {}): Chart => {
  const data: Array<Array<number | null>> = [[], ...labels.map(() => [])]
  const opts: uPlot.Options = {
    width: Math.max(300, container.clientWidth),
    height: 220,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, ...(options.yRange ? { y: { range: options.yRange } } : {}) },
    axes: [
      { values: (_u: uPlot, ticks: Array<number>) => ticks.map((t) => clock.format(new Date(t * 1000))) },
      { size: 56, values: (_u: uPlot, ticks: Array<number>) => ticks.map((t) => compact.format(t)) }
    ],
    series: [
      {},
      ...labels.map((label, i) => ({
        label,
        stroke: palette[i % palette.length],
        width: 2,
        ...(options.dashed?.includes(i) ? { dash: [6, 4] } : {})
      }))
    ]
  }
  const plot = new uPlot(opts, data as uPlot.AlignedData, container)
  new ResizeObserver(() => plot.setSize({ width: Math.max(300, container.clientWidth), height: 220 })).observe(container)
  return { plot, data }
}

const push = (chart: Chart, x: number, values: ReadonlyArray<number | null>) => {
  chart.data[0].push(x)
  values.forEach((v, i) => chart.data[i + 1].push(v))
  if (chart.data[0].length > MAX_POINTS) for (const column of chart.data) column.shift()
  chart.plot.setData(chart.data as uPlot.AlignedData)
}

let occupancy: Chart | undefined
let occupancyNodes = ""
const migrations = makeChart($("chart-migrations"), ["promoted/s", "demoted/s"])
const scanning = makeChart($("chart-scan"), ["scanned/s"])
let share: Chart | undefined
let points = 0

const addSample = (s: Sample) => {
  const x = s.time / 1000
  const nodesKey = s.nodes.map((n) => `${n.id}:${n.label}`).join(",")
  if (occupancy === undefined || nodesKey !== occupancyNodes) {
    const box = $("chart-occupancy")
    box.replaceChildren()
    occupancy = makeChart(box, s.nodes.map((n) => `${n.label} (node ${n.id}, tier ${n.tier})`))
    occupancyNodes = nodesKey
  }
  push(occupancy, x, s.nodes.map((n) => (n.usedPages * s.pageSize) / GiB))
  push(migrations, x, [s.promotedPerSec, s.demotedPerSec])
  push(scanning, x, [s.scannedPerSec])
  if (s.topTierShare !== undefined) {
    if (share === undefined) {
      $("share-figure").hidden = false
      share = makeChart($("chart-share"), ["top-tier share", "oracle"], { yRange: [0, 100], dashed: [1] })
    }
    push(share, x, [s.topTierShare * 100, s.oracleShare === undefined ? null : s.oracleShare * 100])
  }
  points++
  $("points").textContent = String(points)
  showCounters(s.counters)
}

// ---------------------------------------------------------------------------
// Counters, daemon state, targets
// ---------------------------------------------------------------------------

const showCounters = (counters: Readonly<Record<string, number>>) => {
  const body = $("counters").querySelector("tbody")!
  body.replaceChildren(
    ...Object.entries(counters).map(([name, value]) => el("tr", {}, el("td", {}, name), el("td", { className: "num" }, fmt.format(value))))
  )
}

const showDaemon = (status: DaemonStatus) => {
  const badge = $("daemon-state")
  badge.textContent = status.state + (status.reason ? `: ${status.reason}` : "")
  badge.className = `badge ${status.state}`
  $<HTMLButtonElement>("daemon-start").disabled = status.state === "running"
  $<HTMLButtonElement>("daemon-stop").disabled = status.state !== "running"
}

const daemonAction = (action: "start" | "stop") => async () => {
  const error = $("daemon-error")
  error.hidden = true
  try {
    showDaemon(await call<DaemonStatus>("POST", `/api/daemon/${action}`))
  } catch (e) {
    showError(error, e)
  }
}
$("daemon-start").addEventListener("click", daemonAction("start"))
$("daemon-stop").addEventListener("click", daemonAction("stop"))

const refreshTargets = async () => {
  const targets = await call<ReadonlyArray<Target>>("GET", "/api/targets").catch(() => undefined)
  if (targets === undefined) return
  const body = $("targets").querySelector("tbody")!
  // Rows being edited are left alone.
  if (body.querySelector("input.dirty") !== null) return
  body.replaceChildren(
    ...targets.map((t) => {
      const input = el("input", { type: "text", className: "scale", value: String(t.scale), inputMode: "numeric" })
      input.setAttribute("aria-label", `scale of target ${t.id}`)
      input.addEventListener("input", () => input.classList.toggle("dirty", input.value !== String(t.scale)))
      const set = el("button", { type: "button" }, "Set")
      set.addEventListener("click", async () => {
        const error = $("targets-error")
        error.hidden = true
        try {
          await call("PUT", `/api/targets/${t.id}/scale`, { scale: parseValue(input.value) })
          input.classList.remove("dirty")
          await refreshTargets()
        } catch (e) {
          showError(error, e)
        }
      })
      return el("tr", {}, el("td", { className: "num" }, String(t.id)), el("td", {}, t.name), el("td", { className: "num" }, fmt.format(t.pages)), el("td", {}, input, " ", set))
    })
  )
}

// ---------------------------------------------------------------------------
// Tunables
// ---------------------------------------------------------------------------

let current: Record<string, number | boolean> = {}
const inputs = new Map<string, HTMLInputElement>()

/** What the user typed: a number or a boolean where it reads as one, else the text itself (the server says what is wrong). */
const parseValue = (raw: string): unknown => {
  const s = raw.trim()
  if (s === "true") return true
  if (s === "false") return false
  return s !== "" && /^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i.test(s) ? Number(s) : raw
}

const inputValue = (input: HTMLInputElement): unknown => (input.type === "checkbox" ? input.checked : parseValue(input.value))

const isDirty = (name: string, input: HTMLInputElement) =>
  input.type === "checkbox" ? input.checked !== current[name] : input.value.trim() !== String(current[name])

const showValue = (name: string, input: HTMLInputElement) => {
  if (input.type === "checkbox") input.checked = current[name] === true
  else input.value = String(current[name])
  input.classList.remove("dirty")
  input.removeAttribute("aria-invalid")
}

const showTunables = (values: Record<string, number | boolean>) => {
  current = { ...values }
  for (const [name, input] of inputs) if (!input.classList.contains("dirty")) showValue(name, input)
}

const buildTunables = (knobs: ReadonlyArray<Knob>) => {
  const body = $("tunables-body")
  for (const k of knobs) {
    const boolean = typeof k.default === "boolean"
    const input = el("input", {
      type: boolean ? "checkbox" : "text",
      id: `knob-${k.name}`,
      name: k.name,
      className: "knob",
      ...(boolean ? {} : { inputMode: "numeric" as const })
    })
    input.addEventListener("input", () => {
      input.classList.toggle("dirty", isDirty(k.name, input))
      input.removeAttribute("aria-invalid")
    })
    inputs.set(k.name, input)
    const range = boolean ? "true / false" : `${fmt.format(k.min ?? 0)} to ${fmt.format(k.max ?? 0)}${k.unit ? ` ${k.unit}` : ""}`
    const label = el("label", { htmlFor: input.id }, k.name)
    body.append(el("tr", {}, el("td", {}, label), el("td", {}, input), el("td", {}, range), el("td", { className: "muted" }, k.doc)))
  }
}

$("tunables-form").addEventListener("submit", async (event) => {
  event.preventDefault()
  const message = $("tunables-message")
  const error = $("tunables-error")
  message.textContent = ""
  error.hidden = true
  const patch: Record<string, unknown> = {}
  for (const [name, input] of inputs) if (isDirty(name, input)) patch[name] = inputValue(input)
  if (Object.keys(patch).length === 0) {
    message.textContent = "Nothing to apply: edit a value first."
    return
  }
  try {
    const values = await call<Record<string, number | boolean>>("PATCH", "/api/tunables", patch)
    for (const input of inputs.values()) input.classList.remove("dirty")
    showTunables(values)
    message.textContent = `Applied: ${Object.entries(patch).map(([k, v]) => `${k} = ${String(v)}`).join(", ")}`
  } catch (e) {
    showError(error, e)
    const knob = e instanceof ApiError && typeof e.body?.knob === "string" ? e.body.knob : undefined
    if (knob !== undefined) inputs.get(knob)?.setAttribute("aria-invalid", "true")
  }
})

$("tunables-reset").addEventListener("click", () => {
  for (const [name, input] of inputs) showValue(name, input)
  $("tunables-error").hidden = true
  $("tunables-message").textContent = ""
})

// ---------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------

const start = async () => {
  const [status, knobs, values, history] = await Promise.all([
    call<{ daemon: DaemonStatus; stack: { backend: { ref: string }; policy: { ref: string } } }>("GET", "/api/status"),
    call<ReadonlyArray<Knob>>("GET", "/api/tunables/knobs"),
    call<Record<string, number | boolean>>("GET", "/api/tunables"),
    call<ReadonlyArray<Sample>>("GET", "/api/samples")
  ])
  $("stack").textContent = `backend ${status.stack.backend.ref}, policy ${status.stack.policy.ref}`
  showDaemon(status.daemon)
  buildTunables(knobs)
  showTunables(values)
  let last = 0
  for (const s of history) {
    addSample(s)
    last = s.time
  }
  void refreshTargets()
  setInterval(() => void refreshTargets(), 5000)

  const connection = $("connection")
  const events = new EventSource("/api/events?types=Sample,TunablesChanged,DaemonState")
  events.addEventListener("open", () => (connection.textContent = "live"))
  events.addEventListener("error", () => (connection.textContent = "reconnecting…"))
  events.addEventListener("Sample", (e) => {
    const s = JSON.parse((e as MessageEvent<string>).data) as Sample
    // A sample already in the history (the stream may open before the history was read).
    if (s.time <= last) return
    last = s.time
    addSample(s)
  })
  events.addEventListener("TunablesChanged", (e) => showTunables((JSON.parse((e as MessageEvent<string>).data) as { tunables: Record<string, number | boolean> }).tunables))
  events.addEventListener("DaemonState", (e) => showDaemon(JSON.parse((e as MessageEvent<string>).data) as DaemonStatus))
}

start().catch((e) => showError($("daemon-error"), e))

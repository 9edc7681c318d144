/*
 * app.js - the jobring dashboard (issue 16): plain JavaScript, no
 * framework, no file from elsewhere. One page, views chosen by the
 * address's #fragment; every list is read a page at a time (?limit=), so
 * that a daemon holding a million jobs answers as fast as an empty one.
 * Live: GET /events (Server-Sent Events) triggers a refresh of the view
 * shown, at most every REFRESH_MIN_MS; without it, the view is polled
 * every POLL_MS.
 */
'use strict';

const REFRESH_MIN_MS = 500;
const POLL_MS = 2000;
const PAGE = 50;
const LOG_TAIL_BYTES = 65536;
const LIVE_REFRESH_MS = 5000;	/* with the event stream: rates and ages move without events */
const TAIL_MS = 1000;		/* a running job's output: no event says it grew */

const state = {
	view: '', arg: '', navT0: 0,
	samples: [],		/* {t, submitted, finished, failed}: rates from the last two */
	jobFilter: { status: '', queue: '', user: '', name: '' },
	cursors: [''],		/* the jobs view's pages: cursor of each page seen */
	page: 0,
	log: { job: '', stream: 'stdout', offset: 0, text: '', finished: false },
	alerts: [],
	refreshTimer: 0, lastRefresh: 0, pollTimer: 0, busy: false, again: false,
};

/* --- helpers ---------------------------------------------------------------- */

function $(id) { return document.getElementById(id); }

function esc(v) {
	return String(v === undefined || v === null ? '' : v).replace(/[&<>"']/g,
		(c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

async function api(path) {
	const r = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
	const type = r.headers.get('Content-Type') || '';
	const body = type.includes('json') ? await r.json() : await r.text();
	if (!r.ok) {
		const msg = body && body.error ? body.error.message : r.status + ' ' + r.statusText;
		throw new Error(path + ': ' + msg);
	}
	return body;
}

function showError(e) {
	const el = $('error');
	if (!e) { el.hidden = true; return; }
	el.textContent = String(e.message || e);
	el.hidden = false;
}

function fmtNum(n) {
	if (n === undefined || n === null || Number.isNaN(n)) return '–';
	return Number(n).toLocaleString('en-US', { maximumFractionDigits: 2 });
}

function fmtSecs(s) {
	if (s === null || s === undefined || !Number.isFinite(s)) return '–';
	if (s < 1e-3) return (s * 1e6).toFixed(0) + ' µs';
	if (s < 1) return (s * 1e3).toFixed(1) + ' ms';
	if (s < 120) return s.toFixed(1) + ' s';
	if (s < 7200) return (s / 60).toFixed(1) + ' min';
	if (s < 172800) return (s / 3600).toFixed(1) + ' h';
	return (s / 86400).toFixed(1) + ' d';
}

function fmtBytes(b) {
	if (!Number.isFinite(b)) return '–';
	const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let i = 0;
	while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
	return b.toFixed(i ? 1 : 0) + ' ' + u[i];
}

function bar(used, total, fmt) {
	const pct = total > 0 ? Math.min(100, Math.round(100 * used / total)) : 0;
	const f = fmt || fmtNum;
	return `<span class="bar" title="${pct}%"><span style="width:${pct}%"></span></span> ${f(used)} / ${f(total)}`;
}

function table(cols, rows, rowAttrs) {
	const head = cols.map((c) => `<th>${esc(c)}</th>`).join('');
	const body = rows.map((r, i) => `<tr${rowAttrs ? rowAttrs(i) : ''}>` +
		r.map((v) => `<td>${v}</td>`).join('') + '</tr>').join('');
	return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function status(s) { return `<span class="s-${esc(s)}">${esc(s)}</span>`; }

/* --- Prometheus text ----------------------------------------------------------- */

/* name -> [{labels, value}] */
function parseMetrics(text) {
	const out = {};
	for (const line of text.split('\n')) {
		if (!line || line[0] === '#') continue;
		const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
		if (!m) continue;
		const labels = {};
		if (m[3]) for (const kv of m[3].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[kv[1]] = kv[2];
		(out[m[1]] = out[m[1]] || []).push({ labels, value: Number(m[4]) });
	}
	return out;
}

function metricSum(metrics, name, match) {
	let sum = 0, seen = false;
	for (const s of metrics[name] || []) {
		if (match && !Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue;
		sum += s.value;
		seen = true;
	}
	return seen ? sum : null;
}

/* The queue-wait histogram: whichever of the names the daemon has
 * (summed over labels other than le). */
function waitBuckets(metrics) {
	const names = ['jobring_job_wait_seconds_bucket', 'jobring_queue_wait_seconds_bucket', 'jobring_wait_seconds_bucket',
		'jobring_submit_to_start_seconds_bucket'];
	const name = names.find((n) => metrics[n]);
	if (!name) return null;
	const by = new Map();
	for (const s of metrics[name]) {
		const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
		by.set(le, (by.get(le) || 0) + s.value);
	}
	return [...by.entries()].sort((a, b) => a[0] - b[0]);
}

function quantile(buckets, q) {
	if (!buckets || !buckets.length) return null;
	const total = buckets[buckets.length - 1][1];
	if (!total) return null;
	const want = q * total;
	let prevLe = 0, prevCount = 0;
	for (const [le, count] of buckets) {
		if (count >= want) {
			if (le === Infinity) return prevLe;
			const inBucket = count - prevCount;
			return prevLe + (le - prevLe) * (inBucket ? (want - prevCount) / inBucket : 0);
		}
		prevLe = le; prevCount = count;
	}
	return prevLe;
}

/* --- overview ------------------------------------------------------------------ */

const COUNTS = [['pending', 'pending'], ['queued', 'queued'], ['running', 'running'],
	['succeeded', 'succeeded'], ['failed', 'failed'], ['cancelled', 'cancelled'],
	['submitted', 'submitted']];

function sample(health) {
	const finished = (health.succeeded || 0) + (health.failed || 0) + (health.cancelled || 0);
	state.samples.push({ t: performance.now() / 1000, submitted: health.submitted || 0,
		finished, failed: health.failed || 0 });
	while (state.samples.length > 2 && state.samples[state.samples.length - 1].t - state.samples[0].t > 60)
		state.samples.shift();
}

function rates() {
	const s = state.samples;
	if (s.length < 2) return null;
	const a = s[0], b = s[s.length - 1], dt = b.t - a.t;
	if (dt < 0.2) return null;
	const finished = b.finished - a.finished;
	return { submit: (b.submitted - a.submitted) / dt, complete: finished / dt,
		failShare: finished > 0 ? (b.failed - a.failed) / finished : 0 };
}

/* Pending (held, waiting on dependencies or a start time): what was
 * submitted and is neither queued, running nor ended; /health has no
 * field of its own for it. */
function pendingOf(h) {
	const n = (h.submitted || 0) - (h.queued || 0) - (h.running || 0) - (h.succeeded || 0) -
		(h.failed || 0) - (h.cancelled || 0);
	return n > 0 ? n : 0;
}

function countsHtml(health, metrics) {
	const capped = metrics ? metricSum(metrics, 'jobring_jobs', { state: 'held' }) : null;
	const v = Object.assign({}, health, { pending: pendingOf(health) });
	if (capped) v.queued = `${fmtNum(health.queued)} (${fmtNum(capped)} at a queue cap)`;
	return '<div class="cards" id="counts">' + COUNTS.map(([k, label]) =>
		`<div class="card"><div class="n" id="count-${k}">${typeof v[k] === 'string' ? esc(v[k]) : fmtNum(v[k])}</div><div class="l">${label}</div></div>`).join('') + '</div>';
}

function statsHtml(metrics) {
	const r = rates();
	const b = metrics ? waitBuckets(metrics) : null;
	return '<div class="cards">' +
		`<div class="card"><div class="n" id="rate-submit">${r ? fmtNum(r.submit) : '–'}</div><div class="l">submitted / s</div></div>` +
		`<div class="card"><div class="n" id="rate-complete">${r ? fmtNum(r.complete) : '–'}</div><div class="l">completed / s</div></div>` +
		`<div class="card"><div class="n" id="wait-p50">${fmtSecs(quantile(b, 0.5))}</div><div class="l">wait p50</div></div>` +
		`<div class="card"><div class="n" id="wait-p99">${fmtSecs(quantile(b, 0.99))}</div><div class="l">wait p99</div></div>` +
		'</div>';
}

function numaHtml(res) {
	if (!res || !res.numa) return '';
	const rows = res.numa.map((n) => [esc(n.node), bar(n.cores.used, n.cores.total),
		bar(n.memory_bytes.used, n.memory_bytes.total, fmtBytes),
		n.gpus && n.gpus.total ? bar(n.gpus.used, n.gpus.total) : '<span class="muted">none</span>']);
	let head = '';
	if (res.head && res.head.job_id) {
		const r = res.head.reserved || {};
		head = `<p>Head job <a href="#job/${esc(res.head.job_id)}">${esc(res.head.job_id)}</a> holds ` +
			`${fmtNum(r.cpus)} cores, ${fmtBytes(r.memory_bytes)}, ${fmtNum(r.gpus)} GPUs` +
			(res.head.expected_start ? `; expected start ${esc(res.head.expected_start)}` : '') + '</p>';
	}
	return '<section><h2>Utilization by NUMA node</h2>' +
		table(['node', 'cores', 'memory', 'GPUs'], rows) + head + '</section>';
}

function journalHtml(health, metrics) {
	const healthy = metrics ? metricSum(metrics, 'jobring_journal_healthy') : null;
	const out = health.output || {};
	const rows = [
		['journal', healthy === null ? '–' : healthy ? '<span class="s-succeeded">healthy</span>' : '<span class="s-failed">failing</span>'],
		['durable seq', fmtNum(metrics ? metricSum(metrics, 'jobring_journal_durable_seq') : null)],
		['snapshotting', health.snapshotting ? 'yes' : 'no'],
		['draining', health.draining ? 'yes' : 'no'],
		['output free', out.total_bytes ? `${fmtBytes(out.free_bytes)} of ${fmtBytes(out.total_bytes)}${out.full ? ' <b class="s-failed">full</b>' : ''}` : '–'],
		['uptime', fmtSecs(health.uptime_s)],
		['connections', fmtNum(health.connections && health.connections.open)],
	];
	return '<section><h2>Daemon and journal</h2><dl class="kv" id="journal">' +
		rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('') + '</dl></section>';
}

/* /health's answer that came within the page (api/web.c): the first
 * overview paints it without waiting for a fetch; later ones ask. */
function bootHealth() {
	const el = document.getElementById('boot-health');
	if (!el) return null;
	el.remove();
	try { return JSON.parse(el.textContent); } catch (e) { return null; }
}

async function renderOverview(view) {
	/* /health first: the counts are painted before the rest arrives. */
	const boot = bootHealth();
	const health = boot || await api('/health');
	sample(health);
	if (!view.querySelector('#counts')) view.innerHTML = countsHtml(health, null) + '<div id="ov-rest"></div>';
	markPainted('overview');
	const [metricsText, res] = await Promise.all([api('/metrics').catch(() => ''),
		api('/resources').catch(() => null)]);
	const metrics = parseMetrics(metricsText);
	computeAlerts(health, metrics, null);
	view.innerHTML = countsHtml(health, metrics) + statsHtml(metrics) + numaHtml(res) + journalHtml(health, metrics);
}

/* --- jobs ---------------------------------------------------------------------- */

function jobQuery(cursor) {
	const p = new URLSearchParams();
	for (const [k, v] of Object.entries(state.jobFilter)) if (v) p.set(k, v);
	p.set('limit', PAGE);
	if (cursor) p.set('cursor', cursor);
	return '/jobs?' + p.toString();
}

function filtersHtml() {
	const f = state.jobFilter;
	const opts = ['', 'pending', 'queued', 'running', 'succeeded', 'failed', 'cancelled']
		.map((s) => `<option value="${s}"${f.status === s ? ' selected' : ''}>${s || 'any status'}</option>`).join('');
	return `<form class="filters" id="job-filters">
		<select name="status" id="filter-status">${opts}</select>
		<input name="queue" id="filter-queue" placeholder="queue" value="${esc(f.queue)}">
		<input name="user" id="filter-user" placeholder="user (name or uid)" value="${esc(f.user)}">
		<input name="name" id="filter-name" placeholder="job name" value="${esc(f.name)}">
		<button type="submit">Filter</button></form>`;
}

function bindFilters(view) {
	view.querySelector('#job-filters').addEventListener('submit', (ev) => {
		ev.preventDefault();
		const fd = new FormData(ev.target);
		for (const k of Object.keys(state.jobFilter)) state.jobFilter[k] = (fd.get(k) || '').trim();
		state.cursors = [''];
		state.page = 0;
		refresh(true);
	});
}

async function renderJobs(view) {
	const page = await api(jobQuery(state.cursors[state.page]));
	const jobs = page.jobs || [];
	state.cursors[state.page + 1] = page.next_cursor || null;
	const rows = jobs.map((j) => [`<a href="#job/${esc(j.job_id)}">${esc(j.job_id)}</a>`,
		esc(j.name), status(j.status), esc(j.reason), esc(j.queue), esc(j.uid),
		esc(j.priority), esc(j.created_at), j.progress >= 0 ? j.progress + '%' : '']);
	const focused = document.activeElement && document.activeElement.id;
	view.innerHTML = filtersHtml() +
		`<section><h2>Jobs <span class="muted">page ${state.page + 1}</span></h2>` +
		table(['id', 'name', 'status', 'reason', 'queue', 'uid', 'priority', 'created', 'progress'], rows,
			(i) => ` class="click job-row" data-id="${esc(jobs[i].job_id)}"`) +
		(jobs.length ? '' : '<p class="muted" id="jobs-empty">No job on this page.</p>') +
		`<p><button id="prev" ${state.page ? '' : 'disabled'}>‹ previous</button>
		 <button id="next" ${page.next_cursor ? '' : 'disabled'}>next ›</button></p></section>`;
	bindFilters(view);
	if (focused && $(focused)) $(focused).focus();
	view.querySelectorAll('tr.job-row').forEach((tr) => tr.addEventListener('click', (ev) => {
		if (ev.target.tagName !== 'A') location.hash = 'job/' + tr.dataset.id;
	}));
	$('prev').onclick = () => { state.page--; refresh(true); };
	$('next').onclick = () => { state.page++; refresh(true); };
}

/* --- one job ------------------------------------------------------------------- */

function depsHtml(job) {
	const deps = job.dependencies || job.depends_on || [];
	if (!deps.length) return '<p class="muted">No dependencies.</p>';
	return '<ul id="job-deps">' + deps.map((d) => {
		const id = typeof d === 'string' ? d : d.job_id || d.id;
		const type = typeof d === 'string' ? '' : d.type || '';
		return `<li><a href="#job/${esc(id)}">${esc(id)}</a> ${esc(type)}</li>`;
	}).join('') + '</ul>';
}

function jobFieldsHtml(job) {
	const fields = ['job_id', 'name', 'status', 'reason', 'queue', 'priority', 'uid', 'attempts',
		'executor', 'worker_id', 'created_at', 'start_time', 'end_time', 'exit_code', 'signal', 'cause'];
	const cmd = Array.isArray(job.command) ? job.command.join(' ') : job.command;
	return '<dl class="kv">' + fields.filter((f) => job[f] !== undefined && job[f] !== null)
		.map((f) => `<dt>${f}</dt><dd id="job-${f.replace(/_/g, '-')}">${f === 'status' ? status(job[f]) : esc(job[f])}</dd>`).join('') +
		(cmd ? `<dt>command</dt><dd><code>${esc(cmd)}</code></dd>` : '') +
		(job.progress >= 0 ? `<dt>progress</dt><dd>${bar(job.progress, 100)}</dd>` : '') + '</dl>';
}

function executionsHtml(list) {
	const ex = list.executions || [];
	if (!ex.length) return '<p class="muted">No execution yet.</p>';
	return table(['execution', 'attempt', 'worker', 'status', 'reason', 'exit', 'started', 'ended'],
		ex.map((e) => [esc(e.execution_id), esc(e.attempt), esc(e.worker_id), status(e.status),
			esc(e.reason), esc(e.exit_code), esc(e.started_at), esc(e.ended_at)]),
		() => ' class="exec-row"');
}

/* The log's new bytes since the last read, its last LOG_TAIL_BYTES kept. */
async function tailLog(id) {
	const l = state.log;
	if (l.job !== id) Object.assign(l, { job: id, offset: 0, text: '', finished: false });
	if (l.finished) return;
	for (let i = 0; i < 4; i++) {	/* at most 4 MiB a refresh */
		const r = await api(`/jobs/${encodeURIComponent(id)}/logs?stream=${l.stream}&offset=${l.offset}`);
		l.text = (l.text + (r.data || '')).slice(-LOG_TAIL_BYTES);
		const moved = r.next_offset !== l.offset;
		l.offset = r.next_offset;
		l.finished = !!r.finished && !moved;
		if (!moved || !r.data) break;
	}
}

async function renderJob(view, id) {
	const [job, execs] = await Promise.all([api('/jobs/' + encodeURIComponent(id)),
		api('/executions?job_id=' + encodeURIComponent(id) + '&limit=20').catch(() => ({}))]);
	const old = view.querySelector('#job-detail');
	if (!old || old.dataset.id !== id)
		view.innerHTML = `<div id="job-detail" data-id="${esc(id)}"><section><h2>Job ${esc(id)}</h2><div id="job-fields"></div></section>` +
			'<section><h2>Dependencies</h2><div id="job-deps-box"></div></section>' +
			'<section><h2>Executions</h2><div id="job-execs"></div></section>' +
			`<section><h2>Output <select id="log-stream"><option>stdout</option><option>stderr</option></select></h2><pre class="log" id="job-log"></pre></section></div>`;
	$('job-fields').innerHTML = jobFieldsHtml(job);
	$('job-deps-box').innerHTML = depsHtml(job);
	$('job-execs').innerHTML = executionsHtml(execs);
	markPainted('job');
	const sel = $('log-stream');
	sel.value = state.log.stream;
	sel.onchange = () => { state.log.stream = sel.value; state.log.job = ''; refresh(true); };
	try {
		await tailLog(id);
		const pre = $('job-log');
		const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
		pre.textContent = state.log.text || '(no output yet)';
		if (atEnd) pre.scrollTop = pre.scrollHeight;
		if (!state.log.finished) {
			clearTimeout(state.tailTimer);
			state.tailTimer = setTimeout(() => {
				if (state.view === 'job' && state.arg === id) scheduleRefresh();
			}, TAIL_MS);
		}
	} catch (e) {
		$('job-log').textContent = '(output not available: ' + e.message + ')';
	}
}

/* --- workers, queues, schedules ------------------------------------------------- */

async function renderWorkers(view) {
	const r = await api('/workers');
	const ws = (r.workers || []).slice(0, 500);
	view.innerHTML = '<section><h2>Workers</h2>' + table(['id', 'name', 'status', 'running', 'executions', 'capabilities', 'last heartbeat'],
		ws.map((w) => [esc(w.worker_id), esc(w.name), status(w.status), esc(w.running), esc(w.executions),
			esc((w.capabilities || []).join ? w.capabilities.join(', ') : w.capabilities), esc(w.last_heartbeat)])) +
		((r.workers || []).length > 500 ? '<p class="muted">First 500 shown.</p>' : '') + '</section>';
}

async function renderQueues(view) {
	const r = await api('/queues');
	const qs = r.queues || r || [];
	view.innerHTML = '<section><h2>Queues</h2>' + table(['name', 'priority', 'max workers', 'jobs'],
		qs.map((q) => [esc(q.name), esc(q.priority), q.max_workers ? esc(q.max_workers) : 'no cap',
			`<a href="#jobs" data-queue="${esc(q.name)}" class="queue-jobs">list</a>`])) + '</section>';
	view.querySelectorAll('a.queue-jobs').forEach((a) => a.addEventListener('click', () => {
		Object.assign(state.jobFilter, { status: '', queue: a.dataset.queue, user: '', name: '' });
		state.cursors = ['']; state.page = 0;
	}));
}

async function renderSchedules(view) {
	const r = await api('/schedules?limit=100');
	const ss = r.schedules || [];
	view.innerHTML = '<section><h2>Schedules</h2>' + table(['id', 'name', 'when', 'paused', 'next due', 'last job', 'fired', 'missed', 'errors'],
		ss.map((s) => [esc(s.id), esc(s.name), esc(s.cron || s.every || s.at || ''), s.paused ? 'yes' : 'no',
			esc(s.next_due), s.last_job_id ? `<a href="#job/${esc(s.last_job_id)}">${esc(s.last_job_id)}</a>` : '',
			esc(s.fired), esc(s.missed), esc(s.errors)])) +
		(r.next_cursor ? '<p class="muted">First 100 shown.</p>' : '') + '</section>';
}

/* --- alerts -------------------------------------------------------------------- */

/* What looks wrong now, from /health and /metrics (and the first page of
 * schedules where the alerts view read it). The shipped Prometheus rules
 * (contrib/prometheus) are the ones to page on; these are a glance. */
function computeAlerts(health, metrics, schedules) {
	const a = [];
	const cores = health.cores || 1;
	if (health.status && health.status !== 'ok') a.push(['crit', `daemon status is ${health.status}`]);
	if (metricSum(metrics, 'jobring_journal_healthy') === 0) a.push(['crit', 'the journal is failing to write']);
	const out = health.output || {};
	if (out.full) a.push(['crit', 'the output directory is full: jobs cannot start']);
	else if (out.total_bytes && out.free_bytes / out.total_bytes < 0.05) a.push(['warn', `output disk low: ${fmtBytes(out.free_bytes)} free`]);
	if ((health.queued || 0) > 100 * cores) a.push(['warn', `queue backlog: ${fmtNum(health.queued)} jobs queued for ${cores} cores`]);
	const r = rates();
	if (r && r.complete > 0 && r.failShare > 0.2) a.push(['warn', `failure rate ${(100 * r.failShare).toFixed(0)}% of jobs ending now`]);
	const p99 = quantile(waitBuckets(metrics), 0.99);
	if (p99 !== null && p99 > 300) a.push(['warn', `wait p99 is ${fmtSecs(p99)}`]);
	const lost = metricSum(metrics, 'jobring_external_workers', { status: 'lost' });
	if (lost) a.push(['warn', `${lost} external worker(s) lost`]);
	if (health.draining) a.push(['warn', 'the daemon is draining (shutting down)']);
	for (const s of schedules || [])
		if (s.errors || s.missed) a.push(['warn', `schedule ${s.name || s.id}: ${s.missed || 0} missed, ${s.errors || 0} errors${s.last_error ? ' (' + s.last_error + ')' : ''}`]);
	state.alerts = a;
	$('alert-count').textContent = a.length ? `(${a.length})` : '';
	return a;
}

async function renderAlerts(view) {
	const [health, metricsText, sched] = await Promise.all([api('/health'), api('/metrics').catch(() => ''),
		api('/schedules?limit=100').catch(() => ({}))]);
	sample(health);
	const a = computeAlerts(health, parseMetrics(metricsText), sched.schedules);
	view.innerHTML = '<section><h2>Alerts</h2><div id="alerts">' + (a.length ? a.map(([lvl, msg]) =>
		`<div class="alert ${lvl}">${esc(msg)}</div>`).join('') : '<p class="muted" id="no-alerts">Nothing to report.</p>') +
		'</div><p class="muted">Computed in the page from /health and /metrics; contrib/prometheus has the rules to page on.</p></section>';
}

/* --- routing, refreshing, live updates --------------------------------------------- */

const VIEWS = { overview: renderOverview, jobs: renderJobs, job: renderJob, workers: renderWorkers,
	queues: renderQueues, schedules: renderSchedules, alerts: renderAlerts };

/* The view's main part is on screen: body's data-WHAT-painted (the
 * first time, since the page's start) and data-WHAT-ms (every time,
 * since the view was asked for), for tests and bench/dashboard. */
function markPainted(what) {
	const since = state.navT0;
	requestAnimationFrame(() => {
		const now = performance.now();
		document.body.dataset[what + 'Ms'] = String(now - since);
		if (document.body.dataset[what + 'Painted']) return;
		document.body.dataset[what + 'Painted'] = String(now);
		performance.mark('jobring-' + what + '-painted');
	});
}

function readHash() {
	const h = location.hash.replace(/^#/, '') || 'overview';
	const slash = h.indexOf('/');
	state.view = slash < 0 ? h : h.slice(0, slash);
	state.arg = slash < 0 ? '' : decodeURIComponent(h.slice(slash + 1));
	if (!VIEWS[state.view]) state.view = 'overview';
	document.querySelectorAll('nav a').forEach((a) =>
		a.classList.toggle('active', a.id === 'nav-' + (state.view === 'job' ? 'jobs' : state.view)));
}

/* Render the view shown; one at a time, another pass if asked meanwhile. */
async function refresh(now) {
	if (state.busy) { state.again = true; return; }
	state.busy = true;
	state.lastRefresh = performance.now();
	const view = $('view');
	try {
		if (now) view.dataset.view = '';
		await VIEWS[state.view](view, state.arg);
		view.dataset.view = state.view;
		view.dataset.rendered = String((Number(view.dataset.rendered) || 0) + 1);
		showError(null);
	} catch (e) {
		showError(e);
	}
	state.busy = false;
	if (state.again) { state.again = false; scheduleRefresh(); }
}

/* At most one refresh every REFRESH_MIN_MS, however many events come. */
function scheduleRefresh() {
	if (state.refreshTimer) return;
	const wait = Math.max(0, state.lastRefresh + REFRESH_MIN_MS - performance.now());
	state.refreshTimer = setTimeout(() => { state.refreshTimer = 0; refresh(false); }, wait);
}

function startPolling(why) {
	$('live').textContent = 'polling every 2 s' + (why ? ' (' + why + ')' : '');
	if (!state.pollTimer) state.pollTimer = setInterval(scheduleRefresh, POLL_MS);
}

/* The page's one event stream, or null. A browser holds at most six
 * connections to a host: a stream each page keeps open counts against
 * them, so a page hidden (another tab, or one kept in the back-forward
 * cache after leaving it) closes its stream, and opens it again with a
 * refresh when shown. Otherwise six such pages starve every fetch of
 * the seventh (bench/dashboard stalled so). */
let events = null;

function startEvents() {
	if (events) return;
	if (!window.EventSource) { startPolling('no EventSource'); return; }
	let opened = false;
	const es = new EventSource('/events');
	events = es;
	const onEvent = () => scheduleRefresh();
	es.onopen = () => {
		opened = true;
		$('live').textContent = 'live';
		if (state.pollTimer) { clearInterval(state.pollTimer); state.pollTimer = 0; }
	};
	es.onmessage = onEvent;
	for (const kind of ['job', 'execution', 'worker', 'queue', 'schedule', 'reset', 'coalesced'])
		es.addEventListener(kind, onEvent);
	es.onerror = () => {
		if (!opened || es.readyState === EventSource.CLOSED) {
			stopEvents();	/* no /events (404) or gone: poll, try again later */
			startPolling('no event stream');
			setTimeout(() => { if (state.pollTimer && !document.hidden) startEvents(); }, 60000);
		} else {
			$('live').textContent = 'reconnecting';
		}
	};
}

function stopEvents() {
	if (!events) return;
	events.close();
	events = null;
}

function pageHidden() {
	stopEvents();
	if (state.pollTimer) { clearInterval(state.pollTimer); state.pollTimer = 0; }
	$('live').textContent = 'paused while hidden';
}

function pageShown() {
	if (document.hidden) return;
	startEvents();
	scheduleRefresh();
}

document.addEventListener('visibilitychange', () => (document.hidden ? pageHidden() : pageShown()));
window.addEventListener('pagehide', pageHidden);
window.addEventListener('pageshow', (ev) => { if (ev.persisted) pageShown(); });
setInterval(() => { if (events && !document.hidden) scheduleRefresh(); }, LIVE_REFRESH_MS);
window.addEventListener('hashchange', () => { state.navT0 = performance.now(); readHash(); refresh(true); });
state.navT0 = 0;
readHash();
refresh(true);
if (!document.hidden) startEvents();

// auger dashboard: local times and live updates. Every page reads the same
// without this script; it only adds what the server sends as it happens.
(function () {
	'use strict';

	function localTimes(root) {
		root.querySelectorAll('time[datetime]').forEach(function (t) {
			var d = new Date(t.getAttribute('datetime'));
			if (!isNaN(d.getTime())) {
				t.textContent = d.toLocaleString();
				t.title = t.getAttribute('datetime');
			}
		});
	}

	function logLine(text) {
		var ul = document.getElementById('live-log');
		if (!ul)
			return;
		var li = document.createElement('li');
		li.textContent = text;
		ul.insertBefore(li, ul.firstChild);
		while (ul.children.length > 20)
			ul.removeChild(ul.lastChild);
	}

	// Fetch this page again and swap every [data-live] region by id.
	var pending = null;
	function refresh() {
		// A page with nothing live on it (a result page) stays as it is.
		if (pending || !document.querySelector('[data-live][id]'))
			return;
		pending = setTimeout(function () {
			pending = null;
			fetch(location.href, { credentials: 'same-origin' }).then(function (r) {
				if (!r.ok)
					throw new Error('HTTP ' + r.status);
				return r.text();
			}).then(function (html) {
				var doc = new DOMParser().parseFromString(html, 'text/html');
				document.querySelectorAll('[data-live][id]').forEach(function (el) {
					var fresh = doc.getElementById(el.id);
					if (fresh) {
						el.innerHTML = fresh.innerHTML;
						localTimes(el);
					}
				});
			}).catch(function () {});
		}, 150);
	}

	function listen() {
		if (!window.EventSource || !document.body.hasAttribute('data-live-page'))
			return;
		var es = new EventSource('/ui/events');
		es.onopen = function () { document.body.setAttribute('data-sse', 'open'); };
		es.onerror = function () { document.body.setAttribute('data-sse', 'closed'); };
		es.addEventListener('release', function (e) {
			var d = JSON.parse(e.data);
			logLine(d.action === 'push' ? 'push to ' + d.env :
			    (d.action === 'deploy' || !d.action ? 'release' : d.action) + ' ' + d.app + ' #' + d.seq + ' in ' + d.env);
			refresh();
		});
		es.addEventListener('status', function (e) {
			var d = JSON.parse(e.data);
			logLine('flux ' + d.env + ' ' + String(d.sha).slice(0, 7) + ': ' + d.status);
			refresh();
		});
	}

	localTimes(document);
	listen();
})();

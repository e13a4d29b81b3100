# Emits a git fast-import stream for the benchmark repository: APPS app
# folders (app-001/ ...), each with four Kubernetes manifests, and COMMITS
# commits on refs/heads/main. The first commit adds every file; each later
# commit bumps the image tag of 1-3 apps (sometimes the replica count and the
# ConfigMap too), like a stream of Flux/Gimlet releases. Fixed seed and fixed
# dates: the same parameters always give the same commit ids.
#
#   awk -v APPS=300 -v COMMITS=1000 -f gen-repo.awk | git fast-import --quiet

function pad(n) { return sprintf("%03d", n) }

function deployment(a, tag, replicas) {
	return "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-" a \
	    "\n  namespace: default\n  labels:\n    app.kubernetes.io/name: app-" a \
	    "\nspec:\n  replicas: " replicas "\n  selector:\n    matchLabels:\n" \
	    "      app.kubernetes.io/name: app-" a "\n  template:\n    metadata:\n" \
	    "      labels:\n        app.kubernetes.io/name: app-" a "\n    spec:\n" \
	    "      containers:\n        - name: app\n" \
	    "          image: registry.example.com/team/app-" a ":" tag "\n" \
	    "          ports:\n            - containerPort: 8080\n" \
	    "          envFrom:\n            - configMapRef:\n                name: app-" a "\n" \
	    "          resources:\n            requests:\n              cpu: 100m\n" \
	    "              memory: 128Mi\n"
}

function service(a) {
	return "apiVersion: v1\nkind: Service\nmetadata:\n  name: app-" a \
	    "\n  namespace: default\nspec:\n  type: ClusterIP\n  selector:\n" \
	    "    app.kubernetes.io/name: app-" a "\n  ports:\n    - name: http\n" \
	    "      port: 80\n      targetPort: 8080\n"
}

function ingress(a) {
	return "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: app-" a \
	    "\n  namespace: default\n  annotations:\n    cert-manager.io/cluster-issuer: letsencrypt\n" \
	    "spec:\n  ingressClassName: nginx\n  tls:\n    - hosts: [app-" a ".example.com]\n" \
	    "      secretName: tls-app-" a "\n  rules:\n    - host: app-" a ".example.com\n" \
	    "      http:\n        paths:\n          - path: /\n            pathType: Prefix\n" \
	    "            backend:\n              service:\n                name: app-" a "\n" \
	    "                port:\n                  number: 80\n"
}

function configmap(a, level, version) {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-" a \
	    "\n  namespace: default\ndata:\n  LOG_LEVEL: " level "\n  APP_VERSION: \"" version "\"\n" \
	    "  FEATURE_FLAGS: \"search,checkout,beta-" a "\"\n" \
	    "  DATABASE_URL: postgres://app-" a "@db.internal:5432/app_" a "\n"
}

function file(path, content) {
	printf "M 100644 inline %s\ndata <<EOF\n%sEOF\n", path, content
}

function commit(i, msg,    t) {
	t = 1700000000 + i * 600
	printf "commit refs/heads/main\n"
	printf "author Bench Bot <bench@example.com> %d +0000\n", t
	printf "committer Bench Bot <bench@example.com> %d +0000\n", t
	printf "data <<EOF\n%s\nEOF\n", msg
}

BEGIN {
	if (APPS < 1) APPS = 300
	if (COMMITS < 1) COMMITS = 1000
	srand(42)
	levels[0] = "info"; levels[1] = "debug"; levels[2] = "warn"

	commit(0, "initial: " APPS " apps")
	for (n = 1; n <= APPS; n++) {
		a = pad(n); tag[n] = 1; replicas[n] = 1 + n % 3
		file("app-" a "/deployment.yaml", deployment(a, "v1.0." tag[n], replicas[n]))
		file("app-" a "/service.yaml", service(a))
		file("app-" a "/ingress.yaml", ingress(a))
		file("app-" a "/configmap.yaml", configmap(a, levels[0], "1.0." tag[n]))
	}
	print ""

	for (i = 1; i < COMMITS; i++) {
		k = 1 + int(rand() * 3); msg = "release"
		for (j = 0; j < k; j++) {
			pick[j] = 1 + int(rand() * APPS); n = pick[j]; tag[n]++
			msg = msg " app-" pad(n) "@v1.0." tag[n]
		}
		commit(i, msg)
		for (j = 0; j < k; j++) {
			n = pick[j]; a = pad(n)
			if (rand() < 0.1) replicas[n] = 1 + int(rand() * 5)
			file("app-" a "/deployment.yaml", deployment(a, "v1.0." tag[n], replicas[n]))
			if (rand() < 0.3)
				file("app-" a "/configmap.yaml",
				    configmap(a, levels[int(rand() * 3)], "1.0." tag[n]))
		}
		print ""
	}
}

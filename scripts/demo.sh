#!/bin/sh
# make run: a demo augerd on loopback with its data in ./data, a demo
# repository holding sample manifests, and how to clone it.
set -eu
cd "$(dirname "$0")/.."
DATA=${AUGER_DATA:-./data}
ADDR=${AUGER_HTTP:-127.0.0.1:8080}
mkdir -p "$DATA"
rm -f "$DATA/http.addr"

./bin/augerd --data "$DATA" --http "$ADDR" --ssh "${AUGER_SSH:-127.0.0.1:2222}" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null' INT TERM EXIT
i=0
while [ ! -s "$DATA/http.addr" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 $PID 2>/dev/null; then
		echo "demo: augerd did not start (is $ADDR in use?)" >&2
		exit 1
	fi
	sleep 0.1
done
URL="http://$(cat "$DATA/http.addr")"
TOKEN=$(cat "$DATA/admin.token")
export AUGER_URL="$URL" AUGER_TOKEN="$TOKEN"

if ! ./bin/auger repo list | grep -q '^demo '; then
	./bin/auger repo create demo >/dev/null
	W=$(mktemp -d)
	mkdir -p "$W/web"
	cat >"$W/web/deployment.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports: [{containerPort: 80}]
YAML
	cat >"$W/web/service.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
YAML
	git -C "$W" init -q -b main
	git -C "$W" add .
	git -C "$W" -c user.name=auger -c user.email=demo@auger.invalid \
	    commit -qm "demo manifests"
	git -C "$W" -c http.extraHeader="Authorization: Bearer $TOKEN" \
	    push -q "$URL/demo.git" main
	rm -rf "$W"
fi

# A staging environment with a demo app deployed through the release engine.
if ! ./bin/auger env list | grep -q '^staging '; then
	./bin/auger env create staging
fi
if [ -z "$(./bin/auger release list --env staging --app demo-web --limit 1)" ]; then
	A=$(mktemp)
	for tag in 1.27.0 1.27.1; do
		cat >"$A" <<JSON
{"version": {"repositoryName": "acme/demo-web", "sha": "$(printf '%s' "$tag" | sha1sum | cut -c1-40)",
  "branch": "main", "event": "push", "authorName": "Demo", "message": "nginx $tag"},
 "vars": {"TAG": "$tag"},
 "environments": [{"app": "demo-web", "env": "staging", "namespace": "default",
   "deploy": {"branch": "main", "event": "push"},
   "chart": {"name": "onechart", "repository": "https://chart.onechart.dev", "version": "0.70.0"},
   "values": {"image": {"repository": "nginx", "tag": "{{ .TAG }}"}, "replicas": 2,
              "ingress": {"host": "demo.example.com", "tlsEnabled": true},
              "vars": {"GREETING": "hello from auger"}}}]}
JSON
		./bin/auger artifact push -f "$A" >/dev/null
	done
	rm -f "$A"
fi

cat <<MSG

augerd is running on $URL (data in $DATA).

The dashboard: open $URL/ in a browser and sign in with the admin token,
  $(cat "$DATA/admin.token")
(or a read token: ./bin/auger token create viewer --role read --env staging).

Try:

  git -c http.extraHeader="Authorization: Bearer \$(cat $DATA/admin.token)" \\
      clone $URL/demo.git

  or with the token as the password of any user:
  git clone http://x:\$(cat $DATA/admin.token)@${URL#http://}/demo.git

  export AUGER_URL=$URL AUGER_TOKEN=\$(cat $DATA/admin.token)
  ./bin/auger repo list

The staging env has the app demo-web, deployed twice (nginx 1.27.0, 1.27.1):

  ./bin/auger release list --env staging
  ./bin/auger release rollback --env staging --app demo-web
  ./bin/auger release status --env staging
  git -c http.extraHeader="Authorization: Bearer \$(cat $DATA/admin.token)" \\
      clone $URL/gitops-staging-apps.git

Press Ctrl-C to stop.
MSG
wait $PID

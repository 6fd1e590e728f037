// Validates a stream of Kubernetes objects (kubectl kustomize output on stdin) against the Kubernetes OpenAPI
// schemas shipped in the kubernetes-models package, offline. Prints one JSON document:
//   { "objects": [...every object, parsed...], "errors": ["Kind/name: what is wrong", ...] }
// and exits non-zero when an object is invalid or has no known schema.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const documents = parseAllDocuments(readFileSync(0, "utf8"));
const objects = [];
const errors = [];

for (const document of documents) {
  if (document.errors.length > 0) {
    errors.push(`YAML: ${document.errors.map((e) => e.message).join("; ")}`);
    continue;
  }

  const object = document.toJS();
  if (object === null || object === undefined) {
    continue;
  }

  objects.push(object);
  const name = `${object.kind}/${object.metadata?.name ?? "?"}`;
  // "apps/v1" -> kubernetes-models/apps/v1/Deployment; "v1" -> kubernetes-models/v1/Service.
  const modulePath = `kubernetes-models/${object.apiVersion}/${object.kind}`;
  let model;
  try {
    model = (await import(modulePath))[object.kind];
  } catch {
    errors.push(`${name}: no schema for ${object.apiVersion} ${object.kind}`);
    continue;
  }

  try {
    new model(object).validate();
  } catch (error) {
    errors.push(`${name}: ${error.message}`);
  }
}

process.stdout.write(JSON.stringify({ objects, errors }));
process.exitCode = errors.length > 0 ? 1 : 0;

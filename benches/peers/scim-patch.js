// The JavaScript `scim-patch` package on the bodies and user of benches/patch.rs.
//
//   cd "$(mktemp -d)" && npm install scim-patch@0.8.3 && \
//     node /path/to/scimkit/benches/peers/scim-patch.js /path/to/scimkit/tests/data/rfc7643-enterprise-user.json
//
// Two figures per body: with `mutateDocument: false` (scim-patch copies the resource
// first, as a server that must leave it untouched on failure needs) and in place.
const path = require('path');
const { scimPatch } = require(require.resolve('scim-patch', { paths: [process.cwd()] }));
const fs = require('fs');

const user = JSON.parse(fs.readFileSync(process.argv[2] || path.join(__dirname, '../../tests/data/rfc7643-enterprise-user.json'), 'utf8'));
const cases = {
  replace_active: [{ op: 'replace', path: 'active', value: false }],
  replace_work_email: [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' }],
  replace_family_name: [{ op: 'replace', path: 'name.familyName', value: 'Smith' }],
  okta_no_path_deactivate: [{ op: 'replace', value: { active: false } }],
};
const runs = 200000;
for (const [name, ops] of Object.entries(cases)) {
  const copying = { mutateDocument: false, treatMissingAsAdd: true };
  for (let i = 0; i < 20000; i++) scimPatch(user, ops, copying);
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) scimPatch(user, ops, copying);
  const copied = Number(process.hrtime.bigint() - t0) / runs / 1000;

  const copies = Array.from({ length: runs + 20000 }, () => structuredClone(user));
  for (let i = 0; i < 20000; i++) scimPatch(copies[i], ops);
  t0 = process.hrtime.bigint();
  for (let i = 20000; i < runs + 20000; i++) scimPatch(copies[i], ops);
  const inPlace = Number(process.hrtime.bigint() - t0) / runs / 1000;
  console.log(`${name}\tcopying ${copied.toFixed(2)} µs\tin place ${inPlace.toFixed(2)} µs`);
}

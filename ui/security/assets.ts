/**
 * The security pages' own stylesheet and script, served from this origin like `ui/asset-routes.ts` (the
 * pages' CSP allows nothing else): the QR code and the grouped secret, and adding a passkey, which only a
 * script can do (`navigator.credentials.create`).
 */
import { Hono } from 'hono';

export const securityStylesheet = `
.qr{display:block;width:14rem;height:14rem;image-rendering:pixelated;background:#fff;padding:.5rem;border:1px solid var(--line)}
.secret{font-size:1.15rem;letter-spacing:.08em;word-spacing:.4em}
ol.codes{columns:2;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:1.1rem}
.status{min-height:1.5rem}
`;

/**
 * Adding a passkey: options from `/account/security/passkeys/options` (which asks the API), the browser's
 * authenticator makes the credential, the result goes to `/account/security/passkeys` (which gives it to
 * the API). Both carry the page's CSRF token in a header; the button's data attributes hold it and the words.
 */
export const passkeyAddScript = `
(function(){
  var button=document.getElementById('passkey-add');var status=document.getElementById('passkey-status');
  var needs=document.getElementById('passkey-needs-script');
  if(!button)return;
  if(!window.PublicKeyCredential||!navigator.credentials){return;}
  button.hidden=false;if(needs)needs.hidden=true;
  var b64u={to:function(buf){var s='';var a=new Uint8Array(buf);for(var i=0;i<a.length;i++)s+=String.fromCharCode(a[i]);return btoa(s).replace(/\\+/g,'-').replace(/\\//g,'_').replace(/=+$/,'');},
    from:function(str){str=str.replace(/-/g,'+').replace(/_/g,'/');while(str.length%4)str+='=';var b=atob(str);var a=new Uint8Array(b.length);for(var i=0;i<b.length;i++)a[i]=b.charCodeAt(i);return a.buffer;}};
  var headers={'content-type':'application/json','x-csrf-token':button.getAttribute('data-csrf')};
  button.addEventListener('click',function(){
    var nameField=document.getElementById('passkey-name');var name=nameField?nameField.value.trim():'';
    status.textContent=button.getAttribute('data-working');button.disabled=true;var enrolmentId;
    fetch('/account/security/passkeys/options',{method:'POST',headers:headers,body:'{}',credentials:'same-origin'})
    .then(function(r){return r.json().then(function(b){if(!r.ok)throw new Error(b.detail||button.getAttribute('data-failed'));return b;});})
    .then(function(o){enrolmentId=o.enrolmentId;var pk=o.publicKey;
      return navigator.credentials.create({publicKey:{rp:pk.rp,user:{id:b64u.from(pk.user.id),name:pk.user.name,displayName:pk.user.displayName},
        challenge:b64u.from(pk.challenge),pubKeyCredParams:pk.pubKeyCredParams,timeout:pk.timeout,attestation:pk.attestation,
        authenticatorSelection:pk.authenticatorSelection,
        excludeCredentials:(pk.excludeCredentials||[]).map(function(c){return {type:'public-key',id:b64u.from(c.id),transports:c.transports};})}});})
    .then(function(c){if(!c)throw new Error(button.getAttribute('data-cancelled'));var r=c.response;
      var body={enrolmentId:enrolmentId,credential:{id:c.id,rawId:b64u.to(c.rawId),type:c.type,clientExtensionResults:{},
        response:{clientDataJSON:b64u.to(r.clientDataJSON),attestationObject:b64u.to(r.attestationObject),transports:r.getTransports?r.getTransports():undefined}}};
      if(name)body.name=name;
      return fetch('/account/security/passkeys',{method:'POST',headers:headers,credentials:'same-origin',body:JSON.stringify(body)});})
    .then(function(r){return r.json().then(function(b){if(!r.ok)throw new Error(b.detail||button.getAttribute('data-failed'));window.location.assign(b.redirectTo);});})
    .catch(function(e){button.disabled=false;status.textContent=(e&&e.name==='NotAllowedError')?button.getAttribute('data-cancelled'):(e&&e.message)||button.getAttribute('data-failed');});
  });
})();
`;

/**
 * A page of a process still running (an export being built) reloads itself every few seconds, so its stage
 * is live; without the script, its "refresh" link does the same.
 */
export const refreshScript = `
(function(){
  var el=document.querySelector('[data-refresh-seconds]');if(!el)return;
  var s=Number(el.getAttribute('data-refresh-seconds'))||3;setTimeout(function(){window.location.reload();},s*1000);
})();
`;

const cache = { 'cache-control': 'public, max-age=3600', 'x-content-type-options': 'nosniff' };

export const securityAssetRoutes = new Hono()
  .get('/assets/security.css', (c) =>
    c.body(securityStylesheet, 200, { 'content-type': 'text/css; charset=utf-8', ...cache }),
  )
  .get('/assets/security-passkey.js', (c) =>
    c.body(passkeyAddScript, 200, { 'content-type': 'text/javascript; charset=utf-8', ...cache }),
  )
  .get('/assets/security-refresh.js', (c) =>
    c.body(refreshScript, 200, { 'content-type': 'text/javascript; charset=utf-8', ...cache }),
  );

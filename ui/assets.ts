/**
 * The pages' stylesheet and their one small script (passkey sign-in), served from the API's origin so the
 * Content-Security-Policy can stay `'self'` with no inline code.
 */
export const stylesheet = `
:root{color-scheme:light dark;--fg:#1d1d1f;--muted:#5f6368;--bg:#fff;--line:#d0d4da;--accent:#0b57d0;--bad:#b3261e;--ok:#146c2e}
@media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--muted:#a8adb3;--bg:#121316;--line:#3c4043;--accent:#8ab4f8;--bad:#f2b8b5;--ok:#6dd58c}}
*{box-sizing:border-box}body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg);margin:0}
header{border-bottom:1px solid var(--line);padding:.75rem 1rem;display:flex;gap:1rem;align-items:center;justify-content:space-between}
header .brand{font-weight:600;text-decoration:none;color:var(--fg)}
main{max-width:40rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;line-height:1.25;margin:0 0 1rem}h2{font-size:1.2rem;margin:2rem 0 .5rem}
a{color:var(--accent)}p.muted,.muted{color:var(--muted)}
form.stack{display:grid;gap:.75rem;max-width:26rem}label{display:grid;gap:.25rem;font-weight:500}
input[type=email],input[type=password],input[type=text]{font:inherit;padding:.55rem .65rem;border:1px solid var(--line);border-radius:.4rem;background:transparent;color:inherit}
input:focus-visible,button:focus-visible,a:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
button{font:inherit;padding:.55rem 1rem;border-radius:.4rem;border:1px solid var(--accent);background:var(--accent);color:var(--bg);cursor:pointer;justify-self:start}
button.secondary{background:transparent;color:var(--accent)}button.danger{background:var(--bad);border-color:var(--bad)}
.problem{border-left:4px solid var(--bad);padding:.5rem .75rem;margin:0 0 1rem}.notice{border-left:4px solid var(--ok);padding:.5rem .75rem;margin:0 0 1rem}
ul.plain{list-style:none;padding:0}ul.plain li{border-bottom:1px solid var(--line);padding:.6rem 0;display:flex;gap:1rem;justify-content:space-between;align-items:center;flex-wrap:wrap}
.check{display:flex;gap:.5rem;align-items:flex-start;font-weight:400}
.inline{display:inline}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:1.5rem 0}dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.skip{position:absolute;left:-999px;top:0;background:var(--bg);padding:.5rem}.skip:focus{left:.5rem;z-index:10}
nav{border-bottom:1px solid var(--line);padding:0 1rem}nav ul{list-style:none;margin:0 auto;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem;max-width:60rem}
nav a{display:inline-block;padding:.5rem 0;text-decoration:none}nav a[aria-current=page]{font-weight:600;text-decoration:underline;text-underline-offset:.35em}
main.wide{max-width:60rem}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}th{font-weight:600}
progress{width:100%;height:1rem}
select,textarea{font:inherit;padding:.5rem .6rem;border:1px solid var(--line);border-radius:.4rem;background:transparent;color:inherit}
textarea{min-height:5rem}
fieldset{border:1px solid var(--line);border-radius:.4rem;padding:.75rem 1rem}legend{font-weight:600;padding:0 .25rem}
.badge{display:inline-block;border:1px solid var(--line);border-radius:1rem;padding:0 .6rem;font-size:.85rem}
.badge.bad{border-color:var(--bad);color:var(--bad)}.badge.ok{border-color:var(--ok);color:var(--ok)}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em;overflow-wrap:anywhere}
`;

/** Passkey sign-in: asks the server for options, lets the browser's authenticator sign, posts the result. */
export const passkeySignInScript = `
(function(){
  var button=document.getElementById('passkey-sign-in');var status=document.getElementById('passkey-status');
  if(!button)return;
  if(!window.PublicKeyCredential){button.hidden=true;return;}
  var b64u={to:function(buf){var s='';var a=new Uint8Array(buf);for(var i=0;i<a.length;i++)s+=String.fromCharCode(a[i]);return btoa(s).replace(/\\+/g,'-').replace(/\\//g,'_').replace(/=+$/,'');},
    from:function(str){str=str.replace(/-/g,'+').replace(/_/g,'/');while(str.length%4)str+='=';var b=atob(str);var a=new Uint8Array(b.length);for(var i=0;i<b.length;i++)a[i]=b.charCodeAt(i);return a.buffer;}};
  button.addEventListener('click',function(){
    status.textContent='';var base=button.getAttribute('data-action');
    fetch(base+'/options',{method:'POST',headers:{'content-type':'application/json'},body:'{}',credentials:'same-origin'})
    .then(function(r){if(!r.ok)throw new Error('Passkey sign-in is not available right now.');return r.json();})
    .then(function(o){return navigator.credentials.get({publicKey:{challenge:b64u.from(o.challenge),rpId:o.rpId,timeout:o.timeout,userVerification:o.userVerification,allowCredentials:[]}});})
    .then(function(c){if(!c)throw new Error('No passkey was chosen.');var r=c.response;return fetch(base,{method:'POST',headers:{'content-type':'application/json'},credentials:'same-origin',body:JSON.stringify({id:c.id,rawId:b64u.to(c.rawId),type:c.type,clientExtensionResults:{},response:{clientDataJSON:b64u.to(r.clientDataJSON),authenticatorData:b64u.to(r.authenticatorData),signature:b64u.to(r.signature),userHandle:r.userHandle?b64u.to(r.userHandle):undefined}})});})
    .then(function(r){return r.json().then(function(b){if(!r.ok)throw new Error(b.detail||'That passkey was not accepted.');window.location.assign(b.redirectTo);});})
    .catch(function(e){status.textContent=(e&&e.name==='NotAllowedError')?'Passkey sign-in was cancelled.':(e.message||'Passkey sign-in failed.');});
  });
})();
`;

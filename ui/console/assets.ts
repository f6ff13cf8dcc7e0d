/**
 * The console's own script: the queue's table re-fetched every 10 seconds (progressive enhancement: without
 * it, the page's Refresh link does the same). It replaces the region with the same region of the fresh page.
 */
export const consoleRefreshScript = `
(function(){
  var region=document.getElementById('queue-region');
  if(!region||!window.fetch||!window.DOMParser)return;
  setInterval(function(){
    if(document.hidden)return;
    fetch(window.location.href,{credentials:'same-origin',headers:{accept:'text/html'}})
    .then(function(r){if(!r.ok||r.redirected)throw new Error('no refresh');return r.text();})
    .then(function(html){
      var next=new DOMParser().parseFromString(html,'text/html').getElementById('queue-region');
      if(!next)return;
      var nodes=[];for(var i=0;i<next.childNodes.length;i++)nodes.push(document.importNode(next.childNodes[i],true));
      region.replaceChildren.apply(region,nodes);
    })
    .catch(function(){});
  },10000);
})();
`;

export const consoleRefreshPath = '/assets/console-refresh.js';

/** The console's few rules beside the shared stylesheet: the queue's filters on one line. */
export const consoleStylesheet = `
.filters{display:flex;flex-wrap:wrap;gap:.75rem 1.25rem;align-items:end}
.filters .field{display:grid;gap:.25rem}
.filters button{align-self:end}
td code,th code{font-size:.85em}
code.action{white-space:nowrap;overflow-wrap:normal}
`;
export const consoleStylesheetPath = '/assets/console-pages.css';

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

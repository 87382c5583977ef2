// Loaded on notebook pages before require.js and the ipywidgets HTML manager (_config.yml,
// nb_ipywidgets_js), so that widgets render from this site's own files, with no CDN.
(function () {
  "use strict";
  // This file sits in the site's _static/ folder; the vendored libraries sit below it.
  var staticRoot = document.currentScript.src.replace(/[^/]*$/, "");

  // 1. require.js reads a global `require` object as its configuration when it loads.
  //    The manager computes the address of its fonts from its modules' addresses
  //    ("@jupyter-widgets/html-manager/dist/...", "@jupyter-widgets/base", ...), so map
  //    those names to its own folder instead of the page's folder.
  var manager = staticRoot + "vendor/html-manager";
  window.require = {
    paths: {
      "@jupyter-widgets/html-manager/dist": manager,
      "@jupyter-widgets": manager,
    },
  };

  // 2. The manager (1.0.x) typesets widget labels with the MathJax 2 call
  //    MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); Sphinx loads MathJax 3.
  //    Provide that one call on top of MathJax 3's typesetPromise.
  function addHubQueue() {
    var mj = window.MathJax;
    if (!mj || mj.Hub) return;
    mj.Hub = {
      Queue: function () {
        var elements = [];
        Array.prototype.forEach.call(arguments, function (job) {
          if (Array.isArray(job) && job[0] === "Typeset" && job[2]) elements.push(job[2]);
        });
        var ready = mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
        ready.then(function () {
          if (mj.typesetPromise) return mj.typesetPromise(elements.length ? elements : undefined);
        });
      },
    };
  }
  addHubQueue();
  document.addEventListener("DOMContentLoaded", addHubQueue);
})();

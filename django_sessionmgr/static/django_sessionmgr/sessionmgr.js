/* django-sessionmgr: ask in a dialog instead of on a page, where the browser has <dialog>.
   Without this script (or without <dialog>) the form opens the confirmation page. */
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-sessionmgr-dialog]");
  Array.prototype.forEach.call(forms, function (form) {
    var dialog = document.getElementById(form.getAttribute("data-sessionmgr-dialog"));
    if (!dialog || typeof dialog.showModal !== "function") {
      return;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      dialog.hidden = false;
      dialog.showModal();
    });
  });
})();

/* django-sessionmgr: ask in a dialog instead of on a page, where the browser has <dialog>.
   Without this script (or without <dialog>) the link opens the confirmation page. */
(function () {
  "use strict";
  var openers = document.querySelectorAll("[data-sessionmgr-dialog]");
  Array.prototype.forEach.call(openers, function (opener) {
    var dialog = document.getElementById(opener.getAttribute("data-sessionmgr-dialog"));
    if (!dialog || typeof dialog.showModal !== "function") {
      return;
    }
    function open(event) {
      event.preventDefault();
      dialog.hidden = false;
      // The dialog's Cancel has autofocus: showModal() puts the focus there.
      dialog.showModal();
    }
    // It opens a dialog now, not a page: a button, to assistive technology and the keyboard.
    opener.setAttribute("role", "button");
    opener.addEventListener("click", open);
    opener.addEventListener("keydown", function (event) {
      if (event.key === " ") {
        open(event);
      }
    });
  });
})();

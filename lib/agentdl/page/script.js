"use strict";
(function () {
  var status = document.getElementById("copy-status");

  function select(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // Copy buttons need a script: without one they stay hidden, and the text
  // is there to select.
  document.querySelectorAll("button.copy").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) {
        return;
      }
      var done = function () {
        button.textContent = "Copied";
        status.textContent = "Copied to the clipboard";
        setTimeout(function () {
          button.textContent = "Copy";
          status.textContent = "";
        }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(source.textContent).then(done, function () {
          select(source);
        });
      } else {
        select(source);
        try {
          if (document.execCommand("copy")) {
            done();
          }
        } catch (e) {
          // The text stays selected for the visitor to copy.
        }
      }
    });
  });

  // The server picked from User-Agent, which cannot tell Apple silicon from
  // Intel, nor Windows on Arm; client hints can.
  var data = navigator.userAgentData;
  if (!data || !data.getHighEntropyValues) {
    return;
  }
  data.getHighEntropyValues(["architecture", "bitness", "platform"]).then(function (hints) {
    var os = { Windows: "windows", macOS: "macos", Linux: "linux" }[hints.platform || data.platform];
    var arch = "";
    if (hints.bitness === "64" && hints.architecture === "arm") {
      arch = "arm64";
    } else if (hints.bitness === "64" && hints.architecture === "x86") {
      arch = "x86_64";
    }
    if (!os || !arch) {
      return;
    }
    var items = document.querySelectorAll(
      '.download[data-os="' + os + '"][data-arch="' + arch + '"]');
    if (items.length === 0) {
      return;
    }
    document.querySelectorAll(".download.picked").forEach(function (item) {
      item.classList.remove("picked");
    });
    items.forEach(function (item) {
      item.classList.add("picked");
    });
    var note = document.getElementById("detected");
    if (note) {
      note.textContent = "Marked for your computer: " + items[0].getAttribute("data-label") + ".";
    }
  }).catch(function () {
    // No hints: the server's choice stands.
  });
})();

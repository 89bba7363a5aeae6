-- Headless Neovim as a user's config would start the server (README, "Neovim"), then prints the
-- diagnostics and the code actions on the first one's line, and quits.
--   AUTOGRAD_LINT_PYTHON=python nvim --headless -u NONE -c "luafile tests/editors/neovim.lua" FILE
local python = os.getenv("AUTOGRAD_LINT_PYTHON") or "python3"
local config = {
  name = "autograd-lint",
  cmd = { python, "-m", "autograd_lint", "server" },
  root_dir = vim.fn.getcwd(),
  init_options = { unsafeFixes = true, run = "onType" },
}
local buf = vim.api.nvim_get_current_buf()
if vim.lsp.start then -- Neovim 0.8 and later: the README's snippet
  vim.lsp.start(config)
else -- Neovim 0.7: the same, in two steps
  vim.lsp.buf_attach_client(buf, vim.lsp.start_client(config))
end
local found = vim.wait(120000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
if not found then
  print("no diagnostics")
  vim.cmd("cquit 1")
end
for _, d in ipairs(vim.diagnostic.get(buf)) do
  print(string.format("diagnostic %d:%d %s %s", d.lnum + 1, d.col + 1, d.code, d.message))
end
local first = vim.diagnostic.get(buf)[1]
local params = vim.lsp.util.make_range_params()
params.range = { start = { line = first.lnum, character = 0 }, ["end"] = { line = first.lnum + 1, character = 0 } }
params.context = { diagnostics = {} }
for _, response in pairs(vim.lsp.buf_request_sync(buf, "textDocument/codeAction", params, 60000) or {}) do
  for _, action in ipairs(response.result or {}) do
    print("action " .. action.title)
  end
end
vim.cmd("qall!")

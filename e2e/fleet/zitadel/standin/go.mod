module harmony.test/zitadel-standin

go 1.22

# Builds, tests, installs and packages noip.
#
#   make                         static binaries of every command in bin/
#   make test                    every test (./test.sh)
#   make install                 binaries, manual pages and shell completions
#                                under $(DESTDIR)$(PREFIX), PREFIX=/usr/local
#   make deb                     build/noip_VERSION_ARCH.deb, made with nfpm
#   make clean
#
# Every directory under cmd/ is a command: it is built, and installed with
# its manual page man/CMD.1 and its completions completions/CMD.bash,
# completions/_CMD (zsh) and completions/CMD.fish.
#
# `make install` builds what is missing or out of date, so `make && sudo make
# install` works without a Go toolchain in root's PATH. Needs GNU make 4.3 or
# later (a grouped target builds all the binaries at once).

GO ?= go
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d
# Debian's zsh reads packages' completions from vendor-completions, and
# local ones from site-functions.
ifeq ($(PREFIX),/usr)
ZSHCOMPDIR ?= $(DATADIR)/zsh/vendor-completions
else
ZSHCOMPDIR ?= $(DATADIR)/zsh/site-functions
endif

# Where the binaries go, and where `make deb` stages and writes the package.
BIN ?= bin
BUILD ?= build

# nfpm, at the version the package is known to build with: fetched through
# the Go module proxy (or the module cache) the first time.
NFPM ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2

# The package's maintainer: Debian's DEBFULLNAME and DEBEMAIL, else the git
# identity of whoever builds it.
ifneq ($(DEBEMAIL),)
MAINTAINER ?= $(DEBFULLNAME) <$(DEBEMAIL)>
endif
MAINTAINER ?= $(shell git config user.name 2>/dev/null) <$(shell git config user.email 2>/dev/null)>

# The packaged files' time stamps and the changelog's date: the last
# commit's, so that building the same commit twice gives the same package.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)

CMDS := $(patsubst cmd/%/,%,$(wildcard cmd/*/))
BINS := $(addprefix $(BIN)/,$(CMDS))
GOFILES := $(shell find cmd internal -name '*.go' ! -name '*_test.go') go.mod go.sum

.PHONY: all build test install deb clean

all: build

build: $(BINS)

# CGO_ENABLED=0 makes the binaries static (the net package would otherwise
# link the C library); -s -w strips them, as Debian wants. One go build for
# all of them; go's cache makes rebuilding an unchanged one free.
$(BINS) &: $(GOFILES)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/ $(addprefix ./cmd/,$(CMDS))

test:
	./test.sh

install: $(BINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	for c in $(CMDS); do \
		install -m 755 $(BIN)/$$c $(DESTDIR)$(BINDIR)/$$c && \
		install -m 644 man/$$c.1 $(DESTDIR)$(MANDIR)/man1/$$c.1 && \
		install -m 644 completions/$$c.bash $(DESTDIR)$(BASHCOMPDIR)/$$c && \
		install -m 644 completions/_$$c $(DESTDIR)$(ZSHCOMPDIR)/_$$c && \
		install -m 644 completions/$$c.fish $(DESTDIR)$(FISHCOMPDIR)/$$c.fish || exit 1; \
	done
	install -m 644 man/noip.conf.5 $(DESTDIR)$(MANDIR)/man5/noip.conf.5

# The package is `make install PREFIX=/usr` with the manual pages gzipped,
# plus the documentation Debian requires; packaging/nfpm.yaml maps the
# staged tree into it.
STAGE = $(BUILD)/stage
DOC = $(STAGE)/usr/share/doc/noip
deb: $(BINS)
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(STAGE)) PREFIX=/usr
	gzip -9n $(STAGE)/usr/share/man/man*/*
	install -d $(DOC) $(STAGE)/usr/share/lintian/overrides
	install -m 644 README.md packaging/copyright $(DOC)/
	install -m 644 packaging/lintian-overrides $(STAGE)/usr/share/lintian/overrides/noip
	v=$$($(BIN)/noip --version | awk '{print $$2}') && t=$(SOURCE_DATE_EPOCH) && \
	{ printf 'noip (%s) unstable; urgency=medium\n\n  * Upstream version %s.\n\n' "$$v" "$$v"; \
	  printf ' -- %s  %s\n' '$(MAINTAINER)' "$$(date -u -R -d @$$t)"; } | \
		gzip -9n > $(DOC)/changelog.gz && \
	cd $(BUILD) && SOURCE_DATE_EPOCH=$$t NOIP_VERSION=$$v NOIP_ARCH=$$($(GO) env GOARCH) \
		NOIP_MAINTAINER='$(MAINTAINER)' $(NFPM) package -f $(abspath packaging/nfpm.yaml) -p deb -t .

clean:
	rm -rf $(BIN) $(BUILD)

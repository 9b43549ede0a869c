package Manta::Sanitizer;

# Triage of sanitizer and valgrind reports for Manta::Test, inherited by
# it: make test-asan runs nginx through t/lib/nginx-sanitized, make
# test-valgrind through t/lib/nginx-valgrind; both write their reports to
# DIR/sanitizer/, which stop() reads here.

use strict;
use warnings;

use Test::More;

# Notes a sanitizer report in a command's or nginx's own output (UBSan's
# always is, see sanitizer_problems); stop() fails a test for it.

sub sanitizer_output {
    my ($self, $what, $output) = @_;

    push @{ $self->{sanitizer_output} }, "$what:\n$output"
        if ($output // '') =~ /runtime error:|ERROR: (?:Address|Leak)Sanitizer/;

    return $self;
}

# make test-asan and make test-valgrind: the reports in DIR/sanitizer/ (see
# t/lib/nginx-sanitized and t/lib/nginx-valgrind) not scanned yet, and the
# sanitizer output of commands.  Returns ([problem, ...], number of leak
# reports ignored).  A problem: any AddressSanitizer or valgrind error, any
# UBSan "runtime error:" (UBSan writes to stderr, which is error.log or
# the command's output: the gcc runtimes share the report path setting and
# ASan's wins), a LeakSanitizer failure, or a leak (LeakSanitizer's, or
# valgrind's "definitely lost") with a frame of the module.  Leaks without
# one are nginx's own start-up allocations: counted, not failed.

sub sanitizer_problems {
    my ($self) = @_;

    my (@problems, $ignored);
    my $dir = "$self->{dir}/sanitizer";

    push @problems, @{ delete $self->{sanitizer_output} // [] };

    for my $file (sort glob("$dir/asan.* $dir/ubsan.* $dir/valgrind.*")) {
        my $text = $self->read_file($file) // next;
        my $seen = "$file " . length $text;

        next if $self->{sanitizer_seen}{$seen}++;

        (my $name = $file) =~ s{.*/}{};
        my @blocks;

        if ($name =~ /^valgrind/) {
            $text =~ s/^==\d+== ?//mg;
            @blocks = grep { /^\s+(?:at|by) 0x/m } split /\n\s*\n/, $text;
        } else {

            # an ASan error ends the process: the report is the rest

            if ($text =~ s/^(==\d+==ERROR: AddressSanitizer.*)//ms) {
                my @lines = split /\n/, $1;
                splice @lines, 60, @lines - 60, '...' if @lines > 61;
                push @problems, join "\n", "$name: $lines[0]",
                    @lines[1 .. $#lines];
            }

            @blocks = split /\n\s*\n/, $text;
        }

        for my $block (@blocks) {
            my $leak = $block =~ /^(?:Direct|Indirect) leak of /
                || $block =~ /are definitely lost in loss record/;

            # <unknown module>: code unloaded before the report, as the
            # module is when nginx frees its cycle (unless linked with
            # -z nodelete, as make test-asan does)

            my $module = grep { /\b(?:ngx_http_)?manta_|<unknown module>/ }
                grep { /^\s*(?:#\d+ |(?:at|by) 0x)/ } split /\n/, $block;

            # OpenSSL's own cached state (a digest fetched for the first
            # time by the module's SHA256()), held by an SSL_CTX that nginx
            # never frees: indirect, and no direct leak names the module

            if ($leak && $module && $block =~ /^Indirect leak of /
                && $block =~ /libcrypto\.so/
                && !grep { /^Direct leak of / && /\bmanta_|<unknown module>/ }
                    @blocks)
            {
                $ignored++;
                next;
            }

            if ($leak && !$module) {
                $ignored++;
                next;
            }

            next unless $leak
                || $name =~ /^valgrind/
                || $block =~ /runtime error:/
                || $block =~ /LeakSanitizer has encountered a fatal error/
                || $block =~ /ERROR: LeakSanitizer: (?!detected memory leaks)/;

            my @lines = split /\n/, $block;
            splice @lines, 40, @lines - 40, '...' if @lines > 41;
            push @problems, join "\n", "$name: $lines[0]", @lines[1 .. $#lines];
        }
    }

    return (\@problems, $ignored // 0);
}

# Fails a test per new problem (with quiet => 1 only a diag), notes the
# leaks ignored.

sub check_sanitizers {
    my ($self, %opts) = @_;

    my ($problems, $ignored) = $self->sanitizer_problems();

    for my $p (@$problems) {
        if ($opts{quiet}) {
            diag("sanitizer: $p");
        } else {
            fail("no sanitizer report: " . ($p =~ /^(.*)/)[0]);
            diag($p);
        }
    }

    diag("sanitizer: $ignored leak report(s) without a module "
        . "frame (nginx's own) ignored") if $ignored;

    return $self;
}

1;

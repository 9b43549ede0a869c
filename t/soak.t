#!/usr/bin/perl

# Soak test of ngx_http_manta_module under concurrency (README "What a
# request goes through", "Credentials"): two workers, 3000 mixed requests (valid ones for four bots,
# chunked or not; bad method, bad media type, bad botId, bad JSON, unknown
# member, body too large, unknown bot) over 20 keep-alive connections at
# once, while nginx is reloaded twice with rotated credentials.  Every
# request gets exactly one answer, the mock's 200 or the exact documented
# ErrorResponse of its kind; nginx handled exactly the requests that were
# answered (a request written on a keep-alive connection the reload closed
# before nginx read it is retried, and must not appear in the access log);
# the mock received each valid request exactly once, with the token and
# secret of one and the same credentials generation.

###############################################################################

use warnings;
use strict;

use Test::More;

use IO::Select;
use IO::Socket::INET;
use List::Util qw(shuffle sum);
use POSIX qw(_exit);
use Time::HiRes qw(sleep time);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new()->write_config(<<'EOF');

%%MODULE%%
%%GLOBALS%%

worker_processes  2;

events {
    worker_connections  1024;
}

http {
    %%HTTP_GLOBALS%%

    log_format  soak  '$http_x_seq $status $manta_reject_reason $pid';

    manta_credentials  %%TESTDIR%%/creds.json;

    upstream mock {
        server     127.0.0.1:%%PORT_MOCK%%;
        keepalive  16;
    }

    server {
        %%MANTA_LISTEN%%

        access_log  %%TESTDIR%%/soak.log  soak;

        %%MANTA_TAG(/openapi/clientTag; proxy_http_version 1.1;
                    proxy_set_header Connection  "")%%
    }
}

EOF

my @bots = qw/bot-a bot-b bot-c bot-d/;

creds(0);
$t->run();

###############################################################################

my $N = 3000;
my $CONNS = 20;
my $PACE = 0.015;
my $scale = $Manta::Test::SCALE // 1;
my $ep = '/openapi/clientTag';
my $json = ['Content-Type' => 'application/json'];
my $default = $Manta::Mock::DEFAULT_BODY;
my %R = %Manta::Test::REASON;

# the messages that say what exactly was wrong, for the bodies below
my %MSG = (
    invalid_json => 'body ends before the JSON object is complete',
    unknown_field => 'unknown member "color"',
    body_too_large => 'body is 9021 bytes, at most 8192 are allowed',
);

# the requests: [kind, botId for the answer, METHOD, URI, %opts]; one in 16
# of each of the 7 invalid kinds, the other 9 in 16 valid

my @kinds = qw/valid valid valid valid valid valid valid valid
    method_not_allowed unsupported_media_type bad_bot_id invalid_json
    unknown_field body_too_large unknown_bot valid/;

my @requests = map { request($_) } 0 .. $N - 1;
my %count;
$count{ $_->[0] }++ for @requests;

srand(20261127);
my @order = shuffle(0 .. $N - 1);

my $dir = $t->dir();
my $start = time();
my @kids;

for my $c (0 .. $CONNS - 1) {
    my @mine = @order[grep { $_ % $CONNS == $c } 0 .. $N - 1];

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    # the child leaves with _exit: no END block, no Test::More summary, no
    # DESTROY stopping the mock

    if ($pid == 0) {
        eval { client($c, \@mine) };
        print STDERR "client $c: $@" if $@;
        _exit(0);
    }

    push @kids, $pid;
}

# two reloads with rotated credentials, after a third and two thirds

my @reloaded;

for my $gen (1, 2) {
    wait_progress($gen * $N / 3);
    creds($gen);
    my $ok = $t->reload();
    push @reloaded, [$ok, progress()];
}

waitpid($_, 0) for @kids;

my $took = time() - $start;

###############################################################################

my (%answer, @unanswered, @problems, $reopened_total);

for my $c (0 .. $CONNS - 1) {
    for my $line ($t->log_lines("soak-$c.out")) {
        my ($i, $seq, $status, $lost, $reopened, $body) =
            split / /, $line, 6;
        push @unanswered, grep { length } split /,/, $lost;
        $reopened_total += $reopened;
        push @problems, "request $i answered twice" if $answer{$i};
        $answer{$i} = {seq => $seq, status => $status,
            body => pack('H*', $body // '')};
    }
}

is(scalar keys %answer, $N, "$N requests sent, $N answered");

for my $i (0 .. $N - 1) {
    my $ans = $answer{$i} or next;
    my ($kind, $bot) = @{ $requests[$i] };

    my ($status, $body) = $kind eq 'valid' ? (200, $default)
        : ($R{$kind}[0],
            error_body($MSG{$kind} // $R{$kind}[1], $R{$kind}[0], $bot));

    push @problems, "request $i ($kind): $ans->{status} $ans->{body}, "
        . "expected $status $body"
        unless $ans->{status} eq $status && $ans->{body} eq $body;
}

is(scalar @problems, 0,
    'every answer is the mock\'s 200 or the exact ErrorResponse of its kind')
    or diag(join "\n", @problems[0 .. ($#problems < 9 ? $#problems : 9)]);

for my $kind (sort keys %count) {
    is(scalar(grep { $requests[$_][0] eq $kind && $answer{$_}
            && $answer{$_}{status} eq ($kind eq 'valid' ? 200 : $R{$kind}[0])
        } 0 .. $N - 1),
        $count{$kind}, "$kind: all $count{$kind} answered with their status");
}

# the reloads happened while requests were being answered

is(join(' ', map { $_->[0] ? 'ok' : 'failed' } @reloaded), 'ok ok',
    'two reloads, both took effect');
ok(!grep({ $_->[1] >= $N } @reloaded),
    'both reloads done while requests were still being sent ('
    . join(', ', map { "$_->[1] answered" } @reloaded) . ')');
note(sprintf('%d requests over %d connections in %.1f s', $N, $CONNS, $took));

# nginx handled exactly the requests that were answered; the ones written
# on a connection closed by the reload were never read

my %logged;
my $deadline = time() + 3 * $scale;
my %want = map { $_->{seq} => $_->{status} } values %answer;

while (1) {
    %logged = ();
    for my $line ($t->log_lines('soak.log')) {
        my ($seq, $status) = split / /, $line;
        $logged{$seq} .= $logged{$seq} ? ",$status" : $status;
    }
    last if keys(%logged) >= keys(%want) || time() > $deadline;
    sleep 0.1;
}

is(join(' ', grep { ($logged{$_} // '') ne $want{$_} }
        sort { $a <=> $b } keys %want), '',
    'every answered request logged once, with the status it was answered');
is(join(' ', grep { !exists $want{$_} } sort keys %logged), '',
    'no request logged that was not answered');
is(join(' ', grep { exists $logged{$_} } @unanswered), '',
    'the ' . scalar(@unanswered) . ' retried writes never reached nginx');
cmp_ok($reopened_total, '>', 0, "kept-alive connections closed by nginx "
    . "during the reloads were reopened ($reopened_total)");

# the mock: each valid request exactly once, with one generation's token
# and secret for its bot

my @seen = $t->mock_requests();
my (%forwarded, @bad);

for my $req (@seen) {
    my ($bot) = $req->{uri} =~ m{^/api/openapi/clientTag\?botId=([\w-]+)$};
    my ($auth) = header_values($req, 'Authorization');
    my ($secret, $name) = $req->{body}
        =~ /^\{"secret":"([^"]*)","name":"soak (\d+)"\}$/;

    if (!defined $bot || !defined $name) {
        push @bad, "$req->{uri} $req->{body}";
        next;
    }

    $forwarded{$name}++;

    my ($gen) = ($auth // '') =~ /^Bearer TOKEN-\Q$bot\E-g(\d)$/;

    push @bad, "$name: $bot " . ($auth // 'no Authorization') . " $secret"
        unless defined $gen && $secret eq "SECRET-$bot-g$gen"
            && $requests[$name][1] eq $bot;

    $forwarded{"gen $gen"}++ if defined $gen;
}

my @valid = grep { $requests[$_][0] eq 'valid' } 0 .. $N - 1;

is(scalar @seen, scalar @valid,
    'the mock received as many requests as there were valid ones');
is(join(' ', grep { ($forwarded{$_} // 0) != 1 } @valid), '',
    'each valid request forwarded exactly once');
is(join("\n", @bad), '',
    'each forwarded with its bot\'s token and secret of one generation');
is(join(' ', map { $forwarded{"gen $_"} ? "g$_" : "no g$_" } 0 .. 2),
    'g0 g1 g2',
    'requests forwarded with each of the 3 credentials generations');

$t->done();

###############################################################################

# Credentials generation $gen: per bot its token and secret, no default.

sub creds {
    my ($gen) = @_;

    $t->write_creds({bots => {map {
        $_ => {token => "TOKEN-$_-g$gen", secret => "SECRET-$_-g$gen"}
    } @bots}});
}

sub request {
    my ($i) = @_;

    my $kind = $kinds[$i % @kinds];
    my $bot = $bots[int($i / @kinds) % @bots];
    my $ok = qq({"name":"soak $i"});
    my $uri = "$ep?botId=$bot";

    return [$kind, undef, $i % 2 ? 'GET' : 'PUT', $uri, body => $ok,
        headers => $json]
        if $kind eq 'method_not_allowed';

    return [$kind, undef, 'POST', $uri, body => $ok,
        headers => ['Content-Type' => 'text/plain']]
        if $kind eq 'unsupported_media_type';

    return [$kind, undef, 'POST', $i % 2 ? "$ep?botId=bot.x" : $ep,
        body => $ok, headers => $json]
        if $kind eq 'bad_bot_id';

    return [$kind, 'bot-z', 'POST', "$ep?botId=bot-z", body => $ok,
        headers => $json]
        if $kind eq 'unknown_bot';

    return [$kind, $bot, 'POST', $uri, body => '{"name":"x"', headers => $json]
        if $kind eq 'invalid_json';

    return [$kind, $bot, 'POST', $uri, body => qq({"name":"x","color":"$i"}),
        headers => $json]
        if $kind eq 'unknown_field';

    return [$kind, $bot, 'POST', $uri,
        body => qq({"name":"x","pad":") . 'p' x 9000 . '"}', headers => $json]
        if $kind eq 'body_too_large';

    # valid: one in three chunked, one in 25 with Connection: close

    my @o = (headers => [@$json, $i % 25 ? () : (Connection => 'close')]);

    return ['valid', $bot, 'POST', $uri,
        $i % 3 ? (body => $ok) : (chunks => [substr($ok, 0, 5),
            substr($ok, 5)]), @o];
}

# Answers so far, from the clients' result files.

sub progress {
    my $n = 0;

    for my $c (0 .. $CONNS - 1) {
        $n += () = ($t->read_file("soak-$c.out") // '') =~ /\n/g;
    }

    return $n;
}

sub wait_progress {
    my ($n) = @_;

    my $deadline = time() + 20 * $scale;
    sleep 0.01 while progress() < $n && time() < $deadline;
}

# A client process: sends its requests one after the other on a keep-alive
# connection; per request writes one line "index seq status unanswered-seqs
# reopened body-hex" ("-" for the status when no whole response came;
# reopened: 1 when nginx closed the connection after the previous answer
# or after this one without being asked to).
# A request written to a connection that then closes without a byte of
# response is retried on a new connection, its seq noted as unanswered; a
# partial response is not retried.

sub client {
    my ($c, $mine) = @_;

    open(my $out, '>>', "$dir/soak-$c.out") or _exit(1);
    $out->autoflush(1);

    my ($s, $buf);
    my $seq = ($c + 1) * 100000;

    for my $i (@$mine) {
        my ($kind, $bot, $method, $uri, %o) = @{ $requests[$i] };
        my (@lost, $res);
        my $reopened = 0;

        # paced: the run lasts about 3 s, the connections are idle most of
        # the time, as kept-alive connections are when a reload comes

        sleep $PACE;

        for my $attempt (1 .. 5) {
            # a kept-alive connection the server closed (a reload): EOF
            # at once; bytes nobody asked for stay in $buf for the parser

            if ($s && IO::Select->new($s)->can_read(0)
                && !sysread($s, $buf, 65536, length $buf))
            {
                close $s;
                undef $s;
                $reopened++;
            }

            if (!$s) {
                $s = IO::Socket::INET->new(
                    PeerAddr => '127.0.0.1:' . $t->port('8080'),
                    Proto => 'tcp', Timeout => 5 * $scale) or next;
                binmode $s;
                $buf = '';
            }

            $seq++;

            my $wire = join '', Manta::Test::build_request($method, $uri,
                %o, keepalive => 1, seq => $seq);

            my ($eof, $used) = (0, 0);

            if (Manta::Test::write_all($s, $wire)) {
                my $deadline = time() + 5 * $scale;

                while (1) {
                    ($res, $used) = parse_response($buf, method => $method);
                    last if $res || $eof || time() >= $deadline;
                    $eof = !Manta::Test::read_some($s, \$buf,
                        $deadline - time());
                }

            } else {
                $eof = 1;
            }

            if ($res) {
                substr($buf, 0, $used) = '';

                if (lc($res->{headers}{connection} // '') eq 'close') {
                    close $s;
                    undef $s;
                    $reopened++ unless grep { $_ eq 'Connection' }
                        @{ $o{headers} };
                }

                last;
            }

            # nothing at all came back: nginx never read the request

            if ($eof && $buf eq '') {
                push @lost, $seq;
                close $s;
                undef $s;
                next;
            }

            last;
        }

        print $out join(' ', $i, $seq, $res ? $res->{status} : '-',
            join(',', @lost) || '', $reopened, unpack('H*', $res ? $res->{body}
                : 'partial: ' . ($buf // ''))), "\n";
    }

    close $s if $s;
    close $out;
}

###############################################################################

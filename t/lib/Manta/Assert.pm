package Manta::Assert;

# What the tests check responses and logs with: the ErrorResponse checkers
# (error_body, error_response_problems, is_error_response), the local
# rejection check is_rejected() (a method of Manta::Test, inherited), the
# reason table %REASON, and small helpers (token_id, jwt, json_str,
# header_values).  Manta::Test re-exports the functions and %REASON.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use Exporter qw(import);
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use Test::More;

our @EXPORT_OK = qw(
    is_error_response error_response_problems error_body
    token_id jwt json_str header_values
);

# The local rejections: reason code => [status, ErrorResponse message]

our %REASON = (
    method_not_allowed     => [405, 'method not allowed: use POST'],
    unsupported_media_type => [415, 'Content-Type must be application/json'],
    bad_bot_id    => [400, 'botId query argument is missing or invalid'],
    unknown_bot   => [403, 'unknown botId'],
    unknown_caller => [401, 'the caller is not identified'],
    caller_not_allowed => [403, 'the caller may not act for this botId'],
    body_too_large => [413, qr/^body is \d+ bytes, at most \d+ are allowed$/],
    invalid_json  => [400, qr/^(?:body |duplicate member ")/],
    invalid_name  => [400, qr/^(?:name |member "name" )/],
    client_secret =>
        [400, 'member "secret" must not be sent: the gateway adds its own'],
    unknown_field => [400, qr/^unknown member "/],
    token_expired => [401, "the gateway's token has expired"],
);

# A local rejection, three tests: the exact ErrorResponse,
# the request's line in manta.log written with log_format
# '$http_x_seq $status $manta_reject_reason $manta_bot_id $manta_token_id',
# and nothing forwarded to the mock.

# The message: the exact one given, else the reason's (a pattern for the
# reasons whose message says what exactly was wrong).

sub is_rejected {
    my ($self, $r, $reason, $bot_id, $name, $exact) = @_;

    my ($status, $message) = @{ $REASON{$reason} };
    $message = $exact if defined $exact;

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    is_error_response($r, $status, $bot_id, $message,
        "$name: $status ErrorResponse");

    # no token is chosen before the botId is known

    my $bot = defined $bot_id ? quotemeta($bot_id) : '-';
    my $token = defined $bot_id && $reason ne 'unknown_bot'
        ? '(?:-|[0-9a-f]{12})' : '-';

    like($self->log_tail('manta.log') // '', qr/^$status $reason $bot $token$/,
        "$name: logged as $reason");

    is($self->forwarded_body(), '0 requests forwarded',
        "$name: nothing forwarded");
}

###############################################################################

# The values of a header in a recorded request or a response's header_list.

sub header_values {
    my ($req, $name) = @_;

    my $list = $req->{header_list} // $req->{headers};

    return map { $_->[1] } grep { lc $_->[0] eq lc $name } @$list;
}

sub json_str {
    my ($s) = @_;
    return JSON::PP->new->allow_nonref->encode($s);
}

# The exact ErrorResponse body the module sends for a local rejection.

sub error_body {
    my ($message, $code, $bot_id) = @_;

    return '{"success":false,"errResponse":{"message":' . json_str($message)
        . ',"code":' . $code
        . (defined $bot_id ? ',"botId":' . json_str($bot_id) : '') . '}}';
}

# What is wrong with $res as an ErrorResponse of $status; $bot_id undef:
# "botId" must be absent, '*': not checked; $message defined: the body must
# be exactly error_body($message, $status, $bot_id).

sub error_response_problems {
    my ($res, $status, $bot_id, $message) = @_;

    return ('no response') unless $res && defined $res->{status};

    my @p;
    my $h = $res->{headers};
    my $body = $res->{body};

    push @p, "status $res->{status}, expected $status"
        unless $res->{status} == $status;

    push @p, 'Content-Type ' . ($h->{'content-type'} // 'missing')
        . ', expected application/json'
        unless ($h->{'content-type'} // '') eq 'application/json';

    push @p, 'Content-Length ' . ($h->{'content-length'} // 'missing')
        . ', body has ' . length($body) . ' bytes'
        unless ($h->{'content-length'} // '') eq length($body);

    push @p, "Content-Encoding $h->{'content-encoding'}"
        if defined $h->{'content-encoding'};

    my $json = eval { JSON::PP->new->decode($body) };

    if (ref $json ne 'HASH') {
        push @p, "body is not a JSON object: $body";
        return @p;
    }

    my @keys = sort keys %$json;
    push @p, "members @keys, expected errResponse success"
        unless "@keys" eq 'errResponse success';

    push @p, 'success is not JSON false'
        unless JSON::PP::is_bool($json->{success}) && !$json->{success};

    my $e = $json->{errResponse};

    if (ref $e ne 'HASH') {
        push @p, 'errResponse is not an object';
        return @p;
    }

    for my $k (sort keys %$e) {
        push @p, "unexpected errResponse member $k"
            unless $k =~ /^(?:message|code|botId)$/;
    }

    push @p, 'message is not a non-empty string'
        unless defined $e->{message} && !ref $e->{message}
            && !number($e->{message}) && length $e->{message};

    push @p, 'code ' . ($e->{code} // 'missing') . ", expected $status"
        unless defined $e->{code} && number($e->{code})
            && $e->{code} =~ /^\d+$/ && $e->{code} == $status;

    if (!defined $bot_id) {
        push @p, "botId present ($e->{botId}), expected none"
            if exists $e->{botId};
    } elsif ($bot_id ne '*') {
        push @p, 'botId ' . ($e->{botId} // 'missing') . ", expected $bot_id"
            unless defined $e->{botId} && $e->{botId} eq $bot_id;
    }

    if (ref $message eq 'Regexp') {
        push @p, "message $e->{message} does not match $message"
            unless ($e->{message} // '') =~ $message;

    } elsif (defined $message && !@p) {
        my $want = error_body($message, $status, $bot_id);
        push @p, "body $body, expected $want" unless $body eq $want;
    }

    return @p;
}

# A JSON number, as JSON::PP decoded it, rather than a string.

sub number {
    my ($v) = @_;
    require B;
    my $flags = B::svref_2object(\$v)->FLAGS;
    return ($flags & (B::SVp_IOK() | B::SVp_NOK()))
        && !($flags & B::SVp_POK()) ? 1 : 0;
}

sub is_error_response {
    my ($res, $status, $bot_id, $message, $name) = @_;

    my @p = error_response_problems($res, $status, $bot_id, $message);

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    ok(!@p, $name) or diag(join "\n", @p);
}

# First 12 hex digits of SHA-256 of a token, as $manta_token_id.

sub token_id {
    return substr(sha256_hex($_[0]), 0, 12);
}

sub base64url {
    my $s = encode_base64($_[0], '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

# An HS256-looking JWT with the given claims (the signature is not checked
# by the gateway: it only reads exp and nbf).

sub jwt {
    my (%claims) = @_;

    my $json = JSON::PP->new->canonical;

    return join '.', base64url($json->encode({alg => 'HS256', typ => 'JWT'})),
        base64url($json->encode(\%claims)), base64url('not-a-real-signature');
}

1;

#!/usr/bin/perl
# Reads a TAP file with TAP::Parser (what prove uses) and prints, as JSON,
# the test points counted per nesting level, parse errors, unparsed
# top-level lines, the bail out reason and every point with its YAML.
#
# TAP::Parser ignores indented subtests, so each subtest block (the lines
# indented 4 spaces, YAML blocks of the level set aside) is parsed again
# on its own, one level deeper.
#
#   tap_counts.pl FILE
use strict;
use warnings;

use JSON::PP;
use TAP::Parser;

my $file = shift or die "usage: tap_counts.pl FILE\n";
open my $fh, '<:raw', $file or die "cannot open '$file': $!\n";
my @lines = <$fh>;
close $fh;
chomp @lines;

my (@levels, @errors, @asserts);
my $garbage = 0;
my $bailout;

parse_level(\@lines, 0);
print JSON::PP->new->canonical->utf8(0)->encode({
    levels       => \@levels,
    parse_errors => \@errors,
    garbage      => $garbage,
    bailout      => $bailout,
    asserts      => \@asserts,
}), "\n";

sub count_test {
    my ($c, $r) = @_;
    $c->{total}++;
    $r->is_actual_ok ? $c->{ok}++ : $c->{not_ok}++;
    $c->{todo}++   if $r->has_todo;
    $c->{skip}++   if $r->has_skip;
    $c->{failed}++ unless $r->is_ok;
}

sub parse_level {
    my ($lines, $depth) = @_;
    my @tap = @$lines;
    my $c = $levels[$depth] //= { map { $_ => 0 } qw(total ok not_ok todo skip failed) };
    my $last;

    # a subtest has no version line of its own; 13 makes TAP::Parser read its YAML
    unshift @tap, 'TAP version 13' if $depth > 0;
    my $parser = TAP::Parser->new({ tap => join("\n", @tap) . "\n" });
    my $ok = eval {
        while (my $r = $parser->next) {
            if ($r->is_test) {
                count_test($c, $r);
                (my $name = $r->description) =~ s/^-\s+//;
                $name =~ s/\\(.)/$1/g;
                $last = { depth => $depth, name => $name, ok => $r->is_actual_ok ? JSON::PP::true : JSON::PP::false,
                          todo => $r->has_todo ? JSON::PP::true : JSON::PP::false,
                          skip => $r->has_skip ? JSON::PP::true : JSON::PP::false, diag => undef };
                push @asserts, $last;
            } elsif ($r->is_yaml) {
                $last->{diag} = $r->data if $last && $r->raw =~ /^  ---/;
            } elsif ($r->is_bailout) {
                $bailout = $r->explanation if $depth == 0;
            } elsif ($r->is_unknown) {
                $garbage++ if $r->raw =~ /^\S/;
            }
        }
        1;
    };
    push @errors, "level $depth: $@" unless $ok;
    push @errors, map { "level $depth: $_" } $parser->parse_errors;
    parse_level($_, $depth + 1) for child_blocks($lines);
}

sub child_blocks {
    my ($lines) = @_;
    my (@blocks, $cur, $in_yaml);

    for my $l (@$lines) {
        if ($in_yaml) {
            $in_yaml = 0 if $l =~ /^  \.\.\.\s*$/;
            next;
        }
        if ($l =~ /^    /) {
            push @{ $cur //= [] }, substr($l, 4);
            next;
        }
        if ($cur) {
            push @blocks, $cur;
            undef $cur;
        }
        $in_yaml = 1 if $l =~ /^  ---\s*$/;
    }
    push @blocks, $cur if $cur;
    return @blocks;
}

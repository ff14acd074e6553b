// Package functions_test holds template.yaml's IAM policies to what the
// code calls: each function and state machine is allowed exactly the AWS
// actions below, each on the narrowest resource, and nothing else.
package functions_test

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Resources as the template writes them.
const (
	dbUser        = `!Sub arn:aws:rds-db:${AWS::Region}:${AWS::AccountId}:dbuser:${DatabaseProxyResourceId}/${DatabaseUser}`
	uploadsBucket = `!Sub arn:aws:s3:::portage-uploads-${AWS::AccountId}-${Stage}`
	uploads       = uploadsBucket + `/uploads/*`
	imports       = uploadsBucket + `/imports/*`
	exports       = `!Sub arn:aws:s3:::portage-exports-${AWS::AccountId}-${Stage}/exports/*`
	importMachine = `!Sub arn:aws:states:${AWS::Region}:${AWS::AccountId}:stateMachine:portage-import-${Stage}`
	rollbackExecs = `!Sub arn:aws:states:${AWS::Region}:${AWS::AccountId}:execution:portage-rollback-${Stage}:*`
	asyncFailures = `!GetAtt AsyncFailuresQueue.Arn`
)

// calls is, for each function and state machine, every AWS API action its
// code (or, for a state machine, its definition) makes, on what. Keep it
// beside the code: a new SDK call goes here and into template.yaml.
var calls = map[string][]string{
	"ApiFunction": {
		"rds-db:connect " + dbUser,
		"states:StartExecution !Sub arn:aws:states:${AWS::Region}:${AWS::AccountId}:stateMachine:portage-rollback-${Stage}", // rollback.Starter
		"states:DescribeExecution " + rollbackExecs, // a rollback already running?
		"states:RedriveExecution " + rollbackExecs,  // resume a failed rollback
		"lambda:InvokeFunction !Sub arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:portage-export-${Stage}", // exporter.Starter
		"s3:PutObject " + uploads,                 // presigned upload
		"s3:GetObject " + imports,                 // presigned error report
		"s3:GetObject " + exports,                 // presigned export download
		"states:SendTaskSuccess " + importMachine, // start a reviewed import
		"states:SendTaskFailure " + importMachine, // cancel one
		"s3:DeleteObject " + uploads,              // a cancelled import's upload
		"s3:GetObject " + uploads,                 // a dry run imported for real: its upload copied
		"s3:AbortMultipartUpload " + uploads,
		"s3:ListBucket " + uploadsBucket, // NoSuchKey rather than AccessDenied for a file no longer kept
	},
	"ImportInspectFunction": {
		"rds-db:connect " + dbUser,
		"s3:GetObject " + uploads,
		"s3:ListBucket " + uploadsBucket,
	},
	"ImportTriggerFunction": {
		"rds-db:connect " + dbUser,
		"states:StartExecution " + importMachine,
		"sqs:SendMessage " + asyncFailures, // its OnFailure destination
	},
	"ImportPrepareFunction": {
		"rds-db:connect " + dbUser,
		"s3:GetObject " + uploads,
		"s3:ListBucket " + uploadsBucket, // NoSuchKey rather than AccessDenied for a missing upload
		"s3:PutObject " + imports,
		"s3:AbortMultipartUpload " + imports,
	},
	"ImportChunkFunction": {
		"rds-db:connect " + dbUser,
		"s3:GetObject " + imports,
		"s3:ListBucket " + uploadsBucket,
	},
	"ImportFinalizeFunction": {"rds-db:connect " + dbUser},
	"ImportFailFunction":     {"rds-db:connect " + dbUser, "sqs:SendMessage " + asyncFailures, "s3:DeleteObject " + uploads},
	"RollbackFunction":       {"rds-db:connect " + dbUser},
	"ExportFunction": {
		"rds-db:connect " + dbUser,
		"s3:PutObject " + exports,
		"s3:AbortMultipartUpload " + exports,
		"sqs:SendMessage " + asyncFailures,
	},
	"ExportSweeperFunction": {
		"rds-db:connect !Sub arn:aws:rds-db:${AWS::Region}:${AWS::AccountId}:dbuser:${DatabaseProxyResourceId}/${SweeperDatabaseUser}",
		"s3:DeleteObject " + exports,
		// reconcile: is a job's execution still running?
		"states:DescribeExecution !Sub arn:aws:states:${AWS::Region}:${AWS::AccountId}:execution:portage-import-${Stage}:*",
		// reconcile: resume a stalled rollback (lambdafn.RollbackStarter)
		"states:StartExecution !Sub arn:aws:states:${AWS::Region}:${AWS::AccountId}:stateMachine:portage-rollback-${Stage}",
		"states:DescribeExecution " + rollbackExecs,
		"states:RedriveExecution " + rollbackExecs,
	},
	"ImportStateMachine": append([]string{
		"lambda:InvokeFunction ImportInspectFunction",
		"lambda:InvokeFunction ImportPrepareFunction",
		"lambda:InvokeFunction ImportChunkFunction",
		"lambda:InvokeFunction ImportFinalizeFunction",
		"lambda:InvokeFunction ImportFailFunction",
		"s3:GetObject " + imports,                  // the Map's ItemReader (the manifest)
		"states:StartExecution " + importMachine,   // the Map's child executions
		"states:DescribeExecution " + importChilds, // …which it watches
		"states:StopExecution " + importChilds,
		"states:RedriveExecution !Sub arn:aws:states:${AWS::Region}:${AWS::AccountId}:execution:portage-import-${Stage}/ApplyChunks:*",
	}, logDelivery...),
	"RollbackStateMachine": append([]string{"lambda:InvokeFunction RollbackFunction"}, logDelivery...),
}

const importChilds = `!Sub arn:aws:states:${AWS::Region}:${AWS::AccountId}:execution:portage-import-${Stage}/*`

// logDelivery is what Step Functions' execution logging needs; AWS
// documents these actions on "*" only.
var logDelivery = []string{
	"logs:CreateLogDelivery *", "logs:GetLogDelivery *", "logs:UpdateLogDelivery *", "logs:DeleteLogDelivery *",
	"logs:ListLogDeliveries *", "logs:PutResourcePolicy *", "logs:DescribeResourcePolicies *", "logs:DescribeLogGroups *",
}

// nodeString writes a resource as the table does: a plain string, or a tag
// and its value ("!Sub …", "!GetAtt X.Arn").
func nodeString(n *yaml.Node) string {
	if n.Tag != "" && !strings.HasPrefix(n.Tag, "!!") {
		return n.Tag + " " + n.Value
	}
	return n.Value
}

func list(n *yaml.Node) []*yaml.Node {
	if n.Kind == yaml.SequenceNode {
		return n.Content
	}
	return []*yaml.Node{n}
}

func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// granted reads a resource's policies as "action resource" lines: its
// Statements, the SAM policy templates it uses, and the SQS permission SAM
// adds for an OnFailure destination. The policies SAM attaches for the
// platform itself (logs, VPC network interfaces, X-Ray) are not ours.
func granted(t *testing.T, props *yaml.Node) []string {
	t.Helper()
	var out []string
	for _, p := range list(get(props, "Policies")) {
		if lip := get(p, "LambdaInvokePolicy"); lip != nil {
			out = append(out, "lambda:InvokeFunction "+get(lip, "FunctionName").Value)
			continue
		}
		st := get(p, "Statement")
		if st == nil {
			t.Fatalf("a policy that is neither a Statement nor LambdaInvokePolicy: %v", p.Value)
		}
		for _, s := range st.Content {
			if get(s, "Effect").Value != "Allow" || get(s, "Condition") != nil {
				t.Fatalf("statement %v: only plain Allow statements are checked", s.Line)
			}
			for _, a := range list(get(s, "Action")) {
				for _, r := range list(get(s, "Resource")) {
					out = append(out, a.Value+" "+nodeString(r))
				}
			}
		}
	}
	if dest := get(get(get(get(props, "EventInvokeConfig"), "DestinationConfig"), "OnFailure"), "Destination"); dest != nil {
		out = append(out, "sqs:SendMessage "+nodeString(dest))
	}
	return out
}

// readTemplate reads template.yaml as YAML nodes (its !Ref and !Sub kept
// as tags) and returns its top mapping.
func readTemplate(t *testing.T) *yaml.Node {
	t.Helper()
	b, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

func TestLeastPrivilege(t *testing.T) {
	t.Parallel()
	resources := get(readTemplate(t), "Resources")
	seen := map[string]bool{}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, r := resources.Content[i].Value, resources.Content[i+1]
		typ := get(r, "Type").Value
		if typ != "AWS::Serverless::Function" && typ != "AWS::Serverless::StateMachine" {
			continue
		}
		seen[id] = true
		want, ok := calls[id]
		if !ok {
			t.Errorf("%s is in template.yaml but not in the table of calls", id)
			continue
		}
		got := granted(t, get(r, "Properties"))
		sort.Strings(got)
		w := slices.Clone(want)
		sort.Strings(w)
		for _, g := range got {
			if !slices.Contains(w, g) {
				t.Errorf("%s is allowed %s, which its code never calls", id, g)
			}
		}
		for _, c := range w {
			if !slices.Contains(got, c) {
				t.Errorf("%s calls %s, which its policy does not allow", id, c)
			}
			if action, res, _ := strings.Cut(c, " "); res == "*" && !strings.HasPrefix(action, "logs:") {
				t.Errorf("%s: %s on every resource", id, action)
			}
		}
		if dup := duplicates(got); dup != "" {
			t.Errorf("%s is allowed %s twice", id, dup)
		}
	}
	for id := range calls {
		if !seen[id] {
			t.Errorf("the table names %s, which template.yaml does not have", id)
		}
	}
}

func duplicates(sorted []string) string {
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return fmt.Sprint(sorted[i])
		}
	}
	return ""
}

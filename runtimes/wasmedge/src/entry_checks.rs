//! Stop checks at every function's entry, for WasmEdge's compiled code.
//!
//! WasmEdge's AOT compiler, told to make code interruptible, checks its stop
//! flag where a `block`, `loop`, `if` or `try` begins (its
//! `FunctionCompiler::checkStop`), not at calls. A function without any of
//! them never checks, and LLVM's tail-call elimination (in WasmEdge's O2
//! pipeline, and added to O0 and O1) turns a recursion such as
//! `f(n) = f(n + 1) + 1` into a loop with no check in it: the call time
//! limit could never stop it (results/README.md, "WasmEdge under the
//! hostile guests").
//!
//! So before compiling, each function body is wrapped in one `block` of the
//! function's results. Its check then runs on every entry, and inside the
//! loop such a recursion becomes. Branches keep their meaning: a branch to
//! the function's own label now ends the wrapping block, which leaves the
//! same values and falls through to the function's end. A function with
//! more than one result is left as it is (its block would need a type the
//! module may not have); the guests here have none.

use wasm_encoder::reencode::{Error, Reencode, RoundtripReencoder, utils};
use wasm_encoder::{BlockType, CodeSection, Instruction, Module, ValType};
use wasmparser::{FunctionBody, Parser, Payload};

/// `wasm` with every function body wrapped in a `block` (see the module's
/// docs).
///
/// # Errors
/// A module wasmparser cannot read.
pub(crate) fn add(wasm: &[u8]) -> Result<Vec<u8>, String> {
    let results = function_results(wasm).map_err(|e| format!("reading the module: {e}"))?;
    let mut wrapper = EntryBlocks { results, next: 0 };
    let mut module = Module::new();
    wrapper
        .parse_core_module(&mut module, Parser::new(0), wasm)
        .map_err(|e| format!("rewriting the module: {e}"))?;
    Ok(module.finish())
}

/// Each defined function's results, in order: `None` for more than one.
fn function_results(wasm: &[u8]) -> wasmparser::Result<Vec<Option<Option<ValType>>>> {
    let mut types: Vec<Option<Option<ValType>>> = Vec::new();
    let mut functions = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(section) => {
                for group in section {
                    for sub in group?.into_types() {
                        types.push(match &sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => match f.results() {
                                [] => Some(None),
                                [one] => RoundtripReencoder.val_type(*one).ok().map(Some),
                                _ => None,
                            },
                            _ => None,
                        });
                    }
                }
            }
            Payload::FunctionSection(section) => {
                for index in section {
                    functions.push(types.get(index? as usize).cloned().flatten());
                }
            }
            _ => {}
        }
    }
    Ok(functions)
}

struct EntryBlocks {
    /// Per defined function: its single result or none; `None` to leave it.
    results: Vec<Option<Option<ValType>>>,
    /// The next function body's index among the defined functions.
    next: usize,
}

impl Reencode for EntryBlocks {
    type Error = std::convert::Infallible;

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        func: FunctionBody<'_>,
    ) -> Result<(), Error<Self::Error>> {
        let results = self.results.get(self.next).cloned().flatten();
        self.next += 1;
        let Some(result) = results else {
            return utils::parse_function_body(self, code, func);
        };
        let mut f = self.new_function_with_parsed_locals(&func)?;
        let mut reader = func.get_operators_reader()?;
        let mut body = Vec::new();
        while !reader.eof() {
            body.push(self.parse_instruction(&mut reader)?);
        }
        // The body ends with the function's own `end`: the block closes
        // just before it.
        let end = body.pop();
        f.instruction(&Instruction::Block(
            result.map_or(BlockType::Empty, BlockType::Result),
        ));
        for instruction in &body {
            f.instruction(instruction);
        }
        f.instruction(&Instruction::End);
        if let Some(end) = end {
            f.instruction(&end);
        }
        code.function(&f);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(wasm: &[u8]) {
        wasmparser::Validator::new()
            .validate_all(wasm)
            .expect("the rewritten module validates");
    }

    /// Counts the `block` operators of each function body.
    fn blocks_per_function(wasm: &[u8]) -> Vec<usize> {
        let mut out = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            if let Payload::CodeSectionEntry(body) = payload.unwrap() {
                let ops = body.get_operators_reader().unwrap();
                let blocks = ops
                    .into_iter()
                    .filter(|op| matches!(op, Ok(wasmparser::Operator::Block { .. })))
                    .count();
                out.push(blocks);
            }
        }
        out
    }

    #[test]
    fn every_body_gets_one_block_and_still_validates() {
        let wasm = wat::parse_str(
            r#"(module
                 (import "env" "f" (func $imported (param i32)))
                 (func $recurse (param $n i32) (result i32)
                   (i32.add (call $recurse (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))
                 (func $early (param i32) (result i32)
                   (br_if 0 (i32.const 7) (local.get 0))
                   (drop)
                   (i32.const 8))
                 (func $nothing)
                 (func $two (result i32 i64) (i32.const 1) (i64.const 2))
                 (export "recurse" (func $recurse)))"#,
        )
        .unwrap();
        let rewritten = add(&wasm).unwrap();
        validate(&rewritten);
        assert_eq!(blocks_per_function(&wasm), [0, 0, 0, 0]);
        // Two results: left as it is.
        assert_eq!(blocks_per_function(&rewritten), [1, 1, 1, 0]);
    }
}
